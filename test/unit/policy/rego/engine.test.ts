import { describe, expect, it } from 'vitest';
import { Engine, MAX_SOURCE_BYTES, RegoError, parseModule } from '../../../../policy/rego/index.js';

function engine(src: string, opts = {}): Engine {
  const e = new Engine(opts);
  e.addPolicy('test.rego', src);
  return e;
}

describe('Rego engine: core semantics', () => {
  it('returns the package path from addPolicy and evaluates complete, partial and default rules', () => {
    const e = new Engine();
    expect(e.addPolicy('p.rego', 'package a.b\nx := 1')).toBe('data.a.b');
    const t = engine(`package t
import future.keywords
default allow := false
allow if input.user == "alice"
names contains n if some n in input.names
ages[n] := a if { some p in input.people; n := p.name; a := p.age }
f(x) := x + 1
f2(x) = y if { y := x * 2 }
`);
    t.setInput({ user: 'alice', names: ['b', 'a', 'b'], people: [{ name: 'z', age: 3 }] });
    expect(t.evalRule('data.t.allow')).toBe(true);
    expect(t.evalRule('data.t.names')).toEqual(['a', 'b']);
    expect(t.evalRule('data.t.ages')).toEqual({ z: 3 });
    expect(t.evalQuery('x := data.t.f(1); y := data.t.f2(x)').result[0]?.bindings).toEqual({ x: 2, y: 4 });
    t.setInput({ user: 'bob' });
    expect(t.evalRule('data.t.allow')).toBe(false);
    expect(t.evalRule('data.t.missing')).toBeUndefined();
  });

  it('`not` is true only for undefined or false (never for 0, "", null, [], {})', () => {
    const t = engine(`package t
vals := {"zero": 0, "empty": "", "nul": null, "arr": [], "obj": {}, "f": false}
neg[k] := true if { some k, _ in vals; not vals[k] }
undef_neg if not input.nothing
`);
    t.setInput({});
    expect(t.evalRule('data.t.neg')).toEqual({ f: true });
    expect(t.evalRule('data.t.undef_neg')).toBe(true);
  });

  it('raises conflict errors for complete rules and functions with several outputs', () => {
    const t = engine(`package t
p := 1 if true
p := 2 if true
f(x) := 1 if x > 0
f(x) := 2 if x > 1
`);
    expect(() => t.evalRule('data.t.p')).toThrow(/complete rules should not produce multiple outputs/);
    expect(() => t.evalRule('data.t.f(5)')).toThrow(/functions must not produce multiple outputs/);
    expect(t.evalRule('data.t.f(1)')).toBe(1);
  });

  it('else chains, every, comprehensions, sets and membership', () => {
    const t = engine(`package t
import future.keywords
grade(x) := "a" if x > 90 else := "b" if x > 80 else := "c"
all_pos if every v in input.xs { v > 0 }
sq := [y | some x in input.xs; y := x * x]
evens := {x | some x in input.xs; x % 2 == 0}
obj := {k: v | some k, v in input.o}
u := {1, 2} | {3}
d := {1, 2, 3} - {2}
has2 if 2 in input.xs
`);
    t.setInput({ xs: [3, 1, 2], o: { b: 2, a: 1 } });
    expect([t.evalRule('data.t.grade(95)'), t.evalRule('data.t.grade(85)'), t.evalRule('data.t.grade(1)')]).toEqual([
      'a',
      'b',
      'c',
    ]);
    expect(t.evalRule('data.t.all_pos')).toBe(true);
    expect(t.evalRule('data.t.sq')).toEqual([9, 1, 4]);
    expect(t.evalRule('data.t.evens')).toEqual([2]);
    expect(t.evalRule('data.t.obj')).toEqual({ a: 1, b: 2 });
    expect(t.evalRule('data.t.u')).toEqual([1, 2, 3]);
    expect(t.evalRule('data.t.d')).toEqual([1, 3]);
    expect(t.evalRule('data.t.has2')).toBe(true);
    t.setInput({ xs: [3, -1] });
    expect(t.evalRule('data.t.all_pos')).toBeUndefined();
  });

  it('supports `with` on input and data', () => {
    const t = engine(`package t
p := input.x
q := data.cfg.v
r := v if { v := p with input.x as 7 }
s := v if { v := q with data.cfg.v as "over" }
`);
    t.addData({ cfg: { v: 'base' } });
    t.setInput({ x: 1 });
    expect(t.evalRule('data.t.r')).toBe(7);
    expect(t.evalRule('data.t.s')).toBe('over');
    expect(t.evalRule('data.t.p')).toBe(1);
    expect(t.evalRule('data.t.q')).toBe('base');
  });

  it('gathers print output per evaluation with <undefined> and composite formatting', () => {
    const t = engine(`package t
p if {
  print("obj =", {"b": [1, "x"], "a": null}, "missing =", input.nope)
  print("set", {"z", "a"})
}
`);
    t.setInput({});
    expect(t.evalRule('data.t.p')).toBe(true);
    expect(t.takePrints()).toEqual([
      'test.rego:3: obj = {"a": null, "b": [1, "x"]} missing = <undefined>',
      'test.rego:4: set {"a", "z"}',
    ]);
    expect(t.takePrints()).toEqual([]);
  });

  it('non-strict builtin errors make the expression undefined; strict mode raises', () => {
    const src = `package t
n := to_number("abc")
ok if not to_number("abc")
`;
    const lax = engine(src);
    expect(lax.evalRule('data.t.n')).toBeUndefined();
    expect(lax.evalRule('data.t.ok')).toBe(true);
    const strict = engine(src, { strictBuiltinErrors: true });
    expect(() => strict.evalRule('data.t.n')).toThrow(RegoError);
  });

  it('rejects invalid constant regexes at load and fails closed on dynamic ones when asked', () => {
    expect(() => engine('package t\np if regex.match("(", "x")')).toThrow(/invalid regular expression/);
    const src = 'package t\nsafe if not regex.match(input.re, "x")';
    const lax = engine(src);
    lax.setInput({ re: '(' });
    expect(lax.evalRule('data.t.safe')).toBe(true);
    const closed = engine(src, { failClosedRegex: true });
    closed.setInput({ re: '(' });
    expect(() => closed.evalRule('data.t.safe')).toThrow(/invalid regular expression/);
  });

  it('uses RE2 semantics (unanchored search, linear time on adversarial input)', () => {
    const t = engine(
      'package t\nm := regex.match("^(a+)+$", input.s)\nf := regex.find_all_string_submatch_n("k=(\\\\w+)", "k=a k=b", -1)',
    );
    t.setInput({ s: 'a'.repeat(100_000) + 'b' });
    const t0 = performance.now();
    expect(t.evalRule('data.t.m')).toBe(false);
    expect(performance.now() - t0).toBeLessThan(2000);
    expect(t.evalRule('data.t.f')).toEqual([
      ['k=a', 'a'],
      ['k=b', 'b'],
    ]);
  });

  it('remembers regex.match results per pattern and subject without mixing them up', () => {
    const t = engine('package t\nm := [regex.match(p, s) | some p in input.ps; some s in input.ss]');
    t.setInput({ ps: ['^a', 'b$'], ss: ['ab', 'ba', 'ab'] });
    expect(t.evalRule('data.t.m')).toEqual([true, false, true, true, false, true]);
    t.setInput({ ps: ['b$', '^a'], ss: ['ab'] });
    expect(t.evalRule('data.t.m')).toEqual([true, true]);
  });

  it('replace treats the replacement as literal text (no $& or $1 expansion)', () => {
    const t = engine('package t\nr := replace(input.s, "$(sandbox-name)", input.name)');
    t.setInput({ s: 'NAME=$(sandbox-name)', name: "$&$1$'" });
    expect(t.evalRule('data.t.r')).toBe("NAME=$&$1$'");
  });

  it('replace: every non-overlapping occurrence, left to right; concat joins with the separator', () => {
    const t = engine(`package t
r1 := replace("aaa", "aa", "b")
r2 := replace("x-y-z", "-", "--")
r3 := replace("abc", "", "-")
r4 := replace("abc", "zz", "y")
c1 := concat("/", ["a", "b", "c"])
c2 := concat(", ", {"b", "a"})
c3 := concat("-", [])
`);
    expect(['r1', 'r2', 'r3', 'r4', 'c1', 'c2', 'c3'].map((r) => t.evalRule(`data.t.${r}`))).toEqual([
      'ba',
      'x--y--z',
      '-a-b-c-',
      'abc',
      'a/b/c',
      'a, b',
      '',
    ]);
  });

  it('`in` and `k, v in` over arrays, objects, sets and non-collections', () => {
    const t = engine(`package t
import future.keywords
a1 := 2 in [1, 2]
default a2 := false
a2 if { 1, 2 in [1, 2] }
default a3 := false
a3 if { 0, 2 in [1, 2] }
o1 := "v" in {"k": "v"}
default o2 := false
o2 if { "k", "v" in {"k": "v"} }
default o3 := false
o3 if { "x", "v" in {"k": "v"} }
s1 := "a" in {"a"}
default s2 := false
s2 if { "a", "a" in {"a"} }
default s3 := false
s3 if { "b", "a" in {"a"} }
n1 := "a" in "abc"
d1 := x if { x := input.v in input.c }
`);
    const got = ['a1', 'a2', 'a3', 'o1', 'o2', 'o3', 's1', 's2', 's3', 'n1'].map((r) => t.evalRule(`data.t.${r}`));
    expect(got).toEqual([true, true, false, true, true, false, true, true, false, false]);
    t.setInput({ v: { x: [1] }, c: [{ x: [1] }] });
    expect(t.evalRule('data.t.d1')).toBe(true);
    t.setInput({ v: { x: [2] }, c: { k: { x: [1] } } });
    expect(t.evalRule('data.t.d1')).toBe(false);
  });

  it('set membership and non-string object keys cannot be spoofed by strings that embed separators', () => {
    const t = engine(`package t
import future.keywords
allowed := {["/run", "ro"]}
by_key := {["/run", "ro"]: 1}
in_set if input.m in allowed
indexed if allowed[input.m]
keyed if { input.m, 1 in by_key }
looked_up := by_key[input.m]
`);
    for (const m of [
      ['/run\u0001"ro'],
      ['/run\u0001', 'ro'],
      ['/run', '\u0001ro'],
      ['"4:/run"2:ro'],
      ['/run', 'ro', ''],
    ]) {
      t.setInput({ m });
      for (const r of ['in_set', 'indexed', 'keyed', 'looked_up'])
        expect(t.evalRule(`data.t.${r}`), `${r} ${JSON.stringify(m)}`).toBeUndefined();
    }
    t.setInput({ m: ['/run', 'ro'] });
    expect(['in_set', 'indexed', 'keyed', 'looked_up'].map((r) => t.evalRule(`data.t.${r}`))).toEqual([
      true,
      true,
      true,
      1,
    ]);
    const sets = engine('package t\nu := {["a", 1], ["a", "1"], [1, "a"], ["1", "a"], [["a"]], ["a", ["b"]]}');
    expect((sets.evalRule('data.t.u') as unknown[]).length).toBe(6);
  });

  it('concat checks its operands in OPA order (collection, items, separator) in strict mode', () => {
    const strict = engine('package t\na := concat(1, [2])\nb := concat(1, 2)\nc := concat(1, ["x"])', {
      strictBuiltinErrors: true,
    });
    expect(() => strict.evalRule('data.t.a')).toThrow(/operand 2 must be string/);
    expect(() => strict.evalRule('data.t.b')).toThrow(/operand 2 must be array or set/);
    expect(() => strict.evalRule('data.t.c')).toThrow(/operand 1 must be string/);
  });

  it('nested negations, every and first-value lookups inside functions keep their own answers', () => {
    const t = engine(`package t
import future.keywords
default inner(_) := false
inner(x) if { not x == 3 }
outer(xs) if { every x in xs { not inner(x) } }
mixed(xs) := [ok | some x in xs; ok := not_small(x)]
not_small(x) := true if { not x < 2 } else := false
deep if { not outer([1]); not outer([3, 1]); outer([3]) }
def(x) := y if { y := x; y > 10 }
first_or_default(x) := v if { v := def(x) } else := "none"
`);
    expect(t.evalRule('data.t.outer([3, 3])')).toBe(true);
    expect(t.evalRule('data.t.outer([3, 1])')).toBeUndefined();
    expect(t.evalRule('data.t.mixed([1, 2, 3])')).toEqual([false, true, true]);
    expect(t.evalRule('data.t.deep')).toBe(true);
    expect(t.evalRule('data.t.first_or_default(11)')).toBe(11);
    expect(t.evalRule('data.t.first_or_default(1)')).toBe('none');
  });

  it('reorders a body only when source order reads a variable before it is bound', () => {
    const t = engine(
      'package t\nr := v if {\n  v := p + 1\n  p = q\n  q = 2\n}\ns := x if {\n  print("first")\n  x := 1\n  print("second", x)\n}',
    );
    expect(t.evalRule('data.t.r')).toBe(3);
    expect(t.evalRule('data.t.s')).toBe(1);
    expect(t.takePrints()).toEqual(['test.rego:8: first', 'test.rego:10: second 1']);
  });

  it('bounds evaluation time and depth', () => {
    const slow = engine(
      'package t\np := count([x | some a in numbers.range(1, 3000); some b in numbers.range(1, 3000); x := a * b])',
      { maxEvalMs: 50 },
    );
    expect(() => slow.evalRule('data.t.p')).toThrow(/time limit/);
    const deep = engine('package t\nf(x) := y if { x > 0; y := f(x - 1) }\nf(0) := 0', { maxDepth: 50 });
    expect(deep.evalRule('data.t.f(10)')).toBe(0);
    expect(() => deep.evalRule('data.t.f(100)')).toThrow(/maximum depth/);
    const rec = engine('package t\na := b\nb := a');
    expect(() => rec.evalRule('data.t.a')).toThrow(/recursion/);
  });

  it('accepts 64 KiB lines and rejects longer ones; accepts v0 and v1 syntax', () => {
    const long = 'x'.repeat(64 * 1024 - 20);
    const e = engine(`package t\np := "${long}"`);
    expect((e.evalRule('data.t.p') as string).length).toBe(long.length);
    expect(() => engine(`package t\np := "${'x'.repeat(64 * 1024 + 10)}"`)).toThrow(/longer than 65536/);
    const v0 = 'package t\np[x] { x := input.xs[_] }\nq { true }';
    expect(() => parseModule('v0.rego', v0)).not.toThrow();
    expect(() => parseModule('v0.rego', v0, { regoV1: true })).toThrow(/`if` keyword is required/);
    expect(() => parseModule('bad.rego', 'package t\np := }')).toThrow(/bad.rego:2:6/);
  });

  it('accepts a policy of almost 16 MiB and rejects a larger one', () => {
    const line = 'x'.repeat(64 * 1024 - 100);
    const n = Math.floor((MAX_SOURCE_BYTES - 1024) / (line.length + 4));
    const src = `package t\np := [\n${Array.from({ length: n }, () => `"${line}",`).join('\n')}\n]\nq := count(p)\n`;
    expect(src.length).toBeGreaterThan(MAX_SOURCE_BYTES - 70 * 1024);
    expect(src.length).toBeLessThanOrEqual(MAX_SOURCE_BYTES);
    expect(engine(src).evalRule('data.t.q')).toBe(n);
    expect(() => engine('package t\n#' + ' '.repeat(MAX_SOURCE_BYTES))).toThrow(/limit is 16777216 bytes/);
  }, 60_000);

  it('parses deeply nested literals and reports nesting beyond the stack as a parse error', () => {
    const nest = (d: number): string =>
      '['.repeat(d) + '1' + ']'.repeat(d) + '\nq := ' + '{"a": '.repeat(d) + '1' + '}'.repeat(d);
    expect(engine(`package t\np := ${nest(200)}`).evalRule('data.t.q')).toBeTruthy();
    expect(() => engine(`package t\np := ${nest(5_000)}`)).toThrow(/nested too deeply to parse/);
  });

  it('clone shares compiled modules but keeps data and input independent', () => {
    const a = engine('package t\np := data.v');
    a.addData({ v: 1 });
    const b = a.clone();
    b.addData({ v: 2 });
    expect(a.evalRule('data.t.p')).toBe(1);
    expect(b.evalRule('data.t.p')).toBe(2);
    b.clearData();
    expect(b.evalRule('data.t.p')).toBeUndefined();
  });

  it('patches data with JSON Patch and fails on a missing key', () => {
    const e = engine('package t\nidx := data.pstate.c1');
    e.addData({ pstate: {} });
    e.patchData([{ op: 'add', path: '/pstate/c1', value: 0 }]);
    expect(e.evalRule('data.t.idx')).toBe(0);
    e.patchData([{ op: 'remove', path: '/pstate/c1' }]);
    expect(() => e.patchData([{ op: 'remove', path: '/pstate/c1' }])).toThrow(/missing key/);
  });
});
