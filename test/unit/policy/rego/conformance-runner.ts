/**
 * Runs regorus's interpreter test cases (OPA YAML test format) against the TS engine.
 * Shared by the conformance test and usable from a script for a quick report.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { parseDocument } from 'yaml';
import { Engine, RObject, RSet, equal, formatValue, fromJS, type Value } from '../../../../policy/rego/index.js';

export const CASES_DIR = path.resolve(
  import.meta.dirname,
  '../../../../../shared/vectors/policy/regorus-interpreter-cases',
);

export interface CaseOutcome {
  file: string;
  note: string;
  status: 'pass' | 'fail' | 'skip';
  reason?: string;
}

interface YamlCase {
  note: string;
  data?: unknown;
  input?: unknown;
  modules?: string[];
  query: string;
  want_result?: unknown;
  error?: string;
  skip?: boolean;
  strict?: boolean;
  sort_bindings?: boolean;
  no_result?: boolean;
  want_prints?: string[];
  [k: string]: unknown;
}

/**
 * Folders/case groups whose builtins are outside the agent's builtin set (regorus is built for the agent without
 * the `time`, `semver`, `uuid`, `glob` and `rand` features), or that test regorus-only engine features.
 */
export const SKIP_RULES: Array<{ match: (file: string, c: YamlCase) => boolean; reason: string }> = [
  {
    match: (f) => f.startsWith('builtins/time/'),
    reason: 'time.* builtins are not in the Kata agent builtin set (regorus feature "time" is off)',
  },
  { match: (f) => f.startsWith('builtins/semver/'), reason: 'semver.* builtins are not in the Kata agent builtin set' },
  { match: (f) => f.startsWith('builtins/uuid/'), reason: 'uuid.* builtins are not in the Kata agent builtin set' },
  { match: (f) => f.startsWith('builtins/glob/'), reason: 'glob.* builtins are not in the Kata agent builtin set' },
  { match: (f) => f === 'builtins/numbers/intn.yaml', reason: 'rand.intn is not in the Kata agent builtin set' },
  {
    match: (f) => f === 'binding/walk.yaml',
    reason: 'walk is not in the Kata agent builtin set (regorus feature "graph")',
  },
  {
    match: (f) => f.startsWith('limits/'),
    reason:
      'regorus execution-timer API (tick-based limits) is engine-specific; ccgpu bounds evaluation by wall-clock and depth instead',
  },
  { match: (_f, c) => c.skip === true, reason: 'marked skip in the vector file' },
];

function processExpected(v: unknown): Value | undefined {
  if (v === '#undefined') return undefined;
  if (v instanceof Map) {
    const keys = [...v.keys()];
    if (keys.length === 1 && (keys[0] === 'set!' || keys[0] === 'object!')) {
      const inner = v.get(keys[0]) as unknown[];
      if (keys[0] === 'set!') return new RSet(inner.map((x) => processExpected(x) as Value));
      const out = new RObject();
      for (const it of inner as Array<Map<string, unknown>>)
        out.set(processExpected(it.get('key')) as Value, processExpected(it.get('value')) as Value);
      return out;
    }
    const out = new RObject();
    for (const [k, x] of v) {
      const val = processExpected(x);
      if (val !== undefined) out.set(processExpected(k) as Value, val);
    }
    return out;
  }
  if (Array.isArray(v)) return v.map((x) => processExpected(x) as Value);
  if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    const keys = Object.keys(o);
    if (keys.length === 1 && keys[0] === 'set!' && Array.isArray(o['set!'])) {
      return new RSet((o['set!'] as unknown[]).map((x) => processExpected(x) as Value));
    }
    if (keys.length === 1 && keys[0] === 'object!' && Array.isArray(o['object!'])) {
      const out = new RObject();
      for (const it of o['object!'] as Array<{ key: unknown; value: unknown }>)
        out.set(processExpected(it.key) as Value, processExpected(it.value) as Value);
      return out;
    }
    const out = new RObject();
    for (const k of keys) {
      const x = processExpected(o[k]);
      if (x !== undefined) out.set(k, x);
    }
    return out;
  }
  return fromJS(v);
}

function sortDeep(v: Value): Value {
  if (Array.isArray(v)) return v.map(sortDeep).sort((a, b) => (formatValue(a) < formatValue(b) ? -1 : 1));
  return v;
}

/** Evaluation mode: `decision` is how the agent decides (prints off, OPA-style early exit). */
export interface RunOptions {
  decision?: boolean;
}

function evalCase(c: YamlCase, opts: RunOptions): Array<Value | undefined> {
  const modules = c.modules ?? [];
  const inputs: Array<unknown> = [];
  const manyIn =
    c.input && typeof c.input === 'object' && !Array.isArray(c.input)
      ? (c.input as Record<string, unknown>)['many!']
      : undefined;
  if (Array.isArray(manyIn)) inputs.push(...manyIn);
  else if (c.input !== undefined) inputs.push(c.input);
  else inputs.push(undefined);
  const engine = new Engine({
    strictBuiltinErrors: c.strict ?? true,
    maxEvalMs: 10_000,
    earlyExit: !!opts.decision,
  });
  modules.forEach((m, i) => engine.addPolicy(`rego_${i}`, m));
  if (c.data && typeof c.data === 'object') engine.addData(c.data as Record<string, unknown>);
  const out: Array<Value | undefined> = [];
  // one result per input; a query with several results (and a single input) gives one entry per result
  const single = (r: { expressions: Value[]; bindings: Map<string, Value> }): Value => {
    if (r.bindings.size) {
      const o = new RObject();
      for (const [k, v] of r.bindings) o.set(k, c.sort_bindings ? sortDeep(v) : v);
      return o;
    }
    return r.expressions.length === 1 ? (r.expressions[0] as Value) : r.expressions;
  };
  for (const input of inputs) {
    const e = engine.clone();
    if (opts.decision) e.setGatherPrints(false);
    e.setInput(input === undefined ? undefined : processExpected(input));
    const res = e.evalQueryValues(c.query);
    if (res.length === 0) out.push(undefined);
    else if (res.length > 1 && inputs.length === 1) out.push(...res.map(single));
    else out.push(single(res[res.length - 1] as (typeof res)[number]));
  }
  return out;
}

export function runCase(file: string, c: YamlCase, opts: RunOptions = {}): CaseOutcome {
  for (const r of SKIP_RULES) if (r.match(file, c)) return { file, note: c.note, status: 'skip', reason: r.reason };
  let results: Array<Value | undefined>;
  try {
    results = evalCase(c, opts);
  } catch (e) {
    if (c.error !== undefined) return { file, note: c.note, status: 'pass' };
    return { file, note: c.note, status: 'fail', reason: `unexpected error: ${(e as Error).message}` };
  }
  if (c.error !== undefined)
    return {
      file,
      note: c.note,
      status: 'fail',
      reason: `expected error containing ${JSON.stringify(c.error)}, got a result`,
    };
  if (c.no_result) {
    const ok = results.every((r) => r === undefined);
    return { file, note: c.note, status: ok ? 'pass' : 'fail', reason: ok ? undefined : 'expected no result' };
  }
  const wr = c.want_result;
  const many =
    wr instanceof Map
      ? wr.get('many!')
      : wr && typeof wr === 'object' && !Array.isArray(wr)
        ? (wr as Record<string, unknown>)['many!']
        : undefined;
  const expected = Array.isArray(many) ? many.map(processExpected) : [processExpected(wr)];
  if (expected.length !== results.length) {
    return { file, note: c.note, status: 'fail', reason: `expected ${expected.length} results, got ${results.length}` };
  }
  for (let i = 0; i < expected.length; i++) {
    const e = expected[i];
    const r = results[i];
    const same = e === undefined || r === undefined ? e === r : equal(e, r);
    if (!same) {
      return {
        file,
        note: c.note,
        status: 'fail',
        reason: `result ${i}: got ${r === undefined ? '<undefined>' : formatValue(r, false)}, want ${e === undefined ? '<undefined>' : formatValue(e, false)}`,
      };
    }
  }
  return { file, note: c.note, status: 'pass' };
}

export function listCaseFiles(dir = CASES_DIR): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const n of readdirSync(d).sort()) {
      const p = path.join(d, n);
      if (statSync(p).isDirectory()) walk(p);
      else if (n.endsWith('.yaml')) out.push(path.relative(dir, p));
    }
  };
  walk(dir);
  return out;
}

export function loadCases(file: string, dir = CASES_DIR): YamlCase[] {
  const text = readFileSync(path.join(dir, file), 'utf8');
  let parsed = parseDocument(text, { merge: true });
  if (parsed.errors.length) {
    // loop/chained.yaml has a multi-line flow sequence (`set!: [` ... `]`) indented less than its key; serde_yaml
    // accepts it, the yaml package mis-reads it. Joining such sequences onto one line gives the intended value.
    const joined = text.replace(
      /\[[ \t]*\n([^[\]]*?)\]/g,
      (_m, inner: string) => `[${inner.replace(/\s*\n\s*/g, ' ')}]`,
    );
    parsed = parseDocument(joined, { merge: true });
  }
  const doc = parsed.toJS({ maxAliasCount: -1 }) as { cases?: YamlCase[] };
  // expected results keep YAML's typed mapping keys (`null:`, `true:`, `7:`), which plain objects would stringify
  const typed = parsed.toJS({ maxAliasCount: -1, mapAsMap: true }) as Map<string, unknown>;
  const typedCases = (typed.get('cases') as Array<Map<string, unknown>> | undefined) ?? [];
  return (doc.cases ?? []).map((c, i) => {
    const t = typedCases[i];
    return t?.has('want_result') ? { ...c, want_result: t.get('want_result') } : c;
  });
}

export function runAll(dir = CASES_DIR, opts: RunOptions = {}): CaseOutcome[] {
  const out: CaseOutcome[] = [];
  for (const f of listCaseFiles(dir)) for (const c of loadCases(f, dir)) out.push(runCase(f, c, opts));
  return out;
}
