/**
 * The evaluator's fast paths: OPA-style early exit in decision mode (prints off, `earlyExit`), the direct
 * evaluation of filters and `x := term` without continuations, plain-variable `some`/`every`, and recycled
 * function environments. The conformance suite runs every case in both modes; these tests pin the edges.
 */
import { describe, expect, it } from 'vitest';
import { Engine, RegoError } from '../../../../policy/rego/index.js';

function engine(src: string, opts: ConstructorParameters<typeof Engine>[0] = {}): Engine {
  const e = new Engine(opts);
  e.addPolicy('test.rego', src);
  return e;
}

const UNIFORM = `package t
import rego.v1
# both definitions have the value true: the first success decides
f(x) if x > 0
f(x) if {
  x > 1
  1 / 0 == 0
}
p if f(5)
`;

describe('Rego engine: decision mode (prints off, early exit)', () => {
  it('stops a function at its first successful definition when all definitions have the same constant value', () => {
    // exhaustive (regorus order, prints on): the second definition runs and its strict builtin error surfaces
    const full = engine(UNIFORM, { strictBuiltinErrors: true, earlyExit: true });
    expect(() => full.evalRuleValue('data.t.p')).toThrow(/divide by zero/);
    // decision mode: the first definition already decided f(5) = true, the second is not evaluated
    const decide = engine(UNIFORM, { strictBuiltinErrors: true, earlyExit: true });
    decide.setGatherPrints(false);
    expect(decide.evalRuleValue('data.t.p')).toBe(true);
    // without the option, prints off alone keeps exhaustive evaluation
    const off = engine(UNIFORM, { strictBuiltinErrors: true });
    off.setGatherPrints(false);
    expect(() => off.evalRuleValue('data.t.p')).toThrow(/divide by zero/);
  });

  it('still evaluates every definition (and reports conflicts) when the values differ', () => {
    const e = engine(
      `package t
import rego.v1
f(x) := 1 if x > 0
f(x) := 2 if x > 1
p := f(5)
q := f(1)
`,
      { earlyExit: true },
    );
    e.setGatherPrints(false);
    expect(e.evalRuleValue('data.t.q')).toBe(1);
    expect(() => e.evalRuleValue('data.t.p')).toThrow(RegoError);
    expect(() => e.evalRuleValue('data.t.p')).toThrow(/multiple outputs/);
  });

  it('complete rules with equal constant values stop at the first success; else chains are not cut short', () => {
    const e = engine(
      `package t
import rego.v1
allow if input.a == 1
allow if {
  input.b == 2
  1 / 0 == 0
}
v := 1 if input.a == 9
else := 2 if input.a == 1
`,
      { strictBuiltinErrors: true, earlyExit: true },
    );
    e.setGatherPrints(false);
    e.setInput({ a: 1, b: 2 });
    expect(e.evalRuleValue('data.t.allow')).toBe(true);
    expect(e.evalRuleValue('data.t.v')).toBe(2);
    e.setInput({ a: 3, b: 2 });
    expect(() => e.evalRuleValue('data.t.allow')).toThrow(/divide by zero/);
  });
});

describe('Rego engine: direct evaluation and recycled environments', () => {
  it('undoes direct bindings on backtracking, so each element sees a fresh variable', () => {
    const e = engine(`package t
import rego.v1
out contains y if {
  some x in input.xs
  y := x * 10
  y > 10
}
pairs contains [a, b] if {
  some a in input.xs
  b := a + 1
  some c in input.xs
  c == b
}
all_small if every i, x in input.xs { j := i; x < 10; j >= 0 }
`);
    e.setInput({ xs: [1, 2, 3] });
    expect(e.evalRule('data.t.out')).toEqual([20, 30]);
    expect(e.evalRule('data.t.pairs')).toEqual([
      [1, 2],
      [2, 3],
    ]);
    expect(e.evalRule('data.t.all_small')).toBe(true);
    e.setInput({ xs: [1, 20] });
    expect(e.evalRule('data.t.all_small')).toBeUndefined();
  });

  it('a function called many times, nested in its own arguments and across definitions keeps separate bindings', () => {
    const e = engine(`package t
import rego.v1
f(x) := y if {
  x < 0
  y := "neg"
}
f(x) := y if {
  x >= 0
  t := x * 2
  y := t + 1
}
g(a, a) := "same"
g(a, b) := "diff" if a != b
p := [f(1), f(-1), f(f(2)), g(1, 1), g(1, 2), f(3)]
`);
    expect(e.evalRule('data.t.p')).toEqual([3, 'neg', 11, 'same', 'diff', 7]);
  });

  it('evaluation goes on correctly after print() swallowed an error raised inside a function body', () => {
    const e = engine(
      `package t
import rego.v1
f(v) := r if {
  r := v
  r == "boom"
  1 / 0 == 0
}
f(v) := r if {
  r := v
  r != "boom"
}
p := out if {
  print(f("boom"))
  a := f("a")
  b := f("b")
  out := [a, b]
}
`,
      { strictBuiltinErrors: true },
    );
    expect(e.evalRule('data.t.p')).toEqual(['a', 'b']);
    expect(e.takePrints()).toEqual(['test.rego:13: <undefined>']);
  });
});
