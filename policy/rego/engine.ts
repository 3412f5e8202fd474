/**
 * The public Rego engine: load policies and data once, evaluate rules and queries many times.
 *
 * Values crossing the API are plain JSON-compatible JS: sets are returned as arrays sorted in OPA order
 * (null < booleans < numbers < strings < arrays < objects < sets), objects with non-string keys get their keys
 * rendered as JSON text. Numbers are JS doubles (exact integers up to Number.MAX_SAFE_INTEGER).
 */
import { checkRule } from './checks.js';
import type { Literal, Module, Rule, RuleScope, Term } from './ast.js';
import { applyJsonPatch, BUILTINS, compileRegex, type Builtin } from './builtins/index.js';
import { RegoError } from './errors.js';
import { EvalContext, formatPrint, PkgNode, type Env, type LiteralFailure, type PrintRecord } from './evaluator.js';
import { parseModule, parseQuery, type ParseOptions } from './parser.js';
import { fromJS, mergeObjects, RObject, RSet, toJS, type Value } from './value.js';

export interface EngineOptions {
  /** Builtin errors abort evaluation (OPA strict-builtin-errors); default false (error → undefined). */
  strictBuiltinErrors?: boolean;
  /** Wall-clock budget per evaluation; default 5000 ms. */
  maxEvalMs?: number;
  /** Maximum nesting of rule/function evaluation; default 512. */
  maxDepth?: number;
  /** Reject Rego v0-only syntax. Default false: both dialects are accepted (Kata's v0 and v1 policies load). */
  regoV1?: boolean;
  /** Invalid regexes abort evaluation instead of yielding undefined (default false; the agent turns it on). */
  failClosedRegex?: boolean;
  /**
   * OPA-style early exit while prints are not gathered (default false): a function or complete rule whose
   * definitions all have the same constant value stops at its first successful body. Same results; with prints
   * on, evaluation stays exhaustive so print output keeps regorus' order.
   */
  earlyExit?: boolean;
}

export interface QueryResult {
  result: Array<{ expressions: Array<{ value: unknown; text: string }>; bindings: Record<string, unknown> }>;
}

const QUERY_SCOPE: RuleScope = { pkgPath: [], imports: new Map(), file: '<query>' };

interface Compiled {
  modules: Module[];
  root: PkgNode;
}

export class Engine {
  private compiled: Compiled = { modules: [], root: new PkgNode([]) };
  private data = new RObject();
  private input: Value | undefined;
  private prints: PrintRecord[] = [];
  private readonly regexCache: Map<string, unknown>;
  private readonly builtins: Map<string, Builtin>;
  private readonly queryCache = new Map<string, Term | Literal[]>();
  private gatherPrints = true;

  constructor(
    private readonly opts: EngineOptions = {},
    shared?: { compiled: Compiled; regexCache: Map<string, unknown> },
  ) {
    this.builtins = BUILTINS as Map<string, Builtin>;
    this.regexCache = shared?.regexCache ?? new Map();
    if (shared) this.compiled = shared.compiled;
  }

  /** Parses and adds a module; returns its package path (e.g. "data.agent_policy"). */
  addPolicy(path: string, source: string): string {
    const popts: ParseOptions = { regoV1: this.opts.regoV1 };
    const mod = parseModule(path, source, popts);
    const modules = [...this.compiled.modules, mod];
    this.compiled = compile(modules, this.regexCache);
    return 'data.' + mod.pkg.join('.');
  }

  /**
   * Compiles a regular expression into this engine's cache (shared with its clones), so that the first
   * evaluation using it does not pay for the compilation; throws a descriptive Error when the pattern is invalid.
   */
  precompileRegex(pattern: string): void {
    compileRegex(pattern, this.regexCache);
  }

  /** Package paths of the loaded modules. */
  packages(): string[] {
    return [...new Set(this.compiled.modules.map((m) => 'data.' + m.pkg.join('.')))];
  }

  addData(data: Record<string, unknown>): void {
    const v = fromJS(data);
    if (!(v instanceof RObject)) throw new RegoError('data must be a JSON object');
    this.data = mergeObjects(this.data, v);
  }

  /** Replaces the whole base data document. */
  setData(data: Record<string, unknown>): void {
    this.data = new RObject();
    this.addData(data);
  }

  /** The base data document as plain JSON. */
  getData(): Record<string, unknown> {
    return toJS(this.data) as Record<string, unknown>;
  }

  /** Applies an RFC 6902 JSON Patch to the base data document; throws RegoError if any operation fails. */
  patchData(patch: unknown): void {
    let out: Value | undefined;
    try {
      out = applyJsonPatch(this.data, fromJS(patch));
    } catch (e) {
      throw new RegoError(`JSON patch on data failed: ${(e as Error).message}`);
    }
    if (!(out instanceof RObject)) throw new RegoError('JSON patch on data must leave an object at the root');
    this.data = out;
  }

  clearData(): void {
    this.data = new RObject();
  }

  setInput(input: unknown): void {
    this.input = input === undefined ? undefined : fromJS(input);
  }

  private context(): EvalContext {
    return new EvalContext(
      this.compiled.root,
      this.builtins,
      this.data,
      this.input,
      {
        strict: !!this.opts.strictBuiltinErrors,
        failClosedRegex: !!this.opts.failClosedRegex,
        deadline: performance.now() + (this.opts.maxEvalMs ?? 5000),
        maxDepth: this.opts.maxDepth ?? 512,
        noPrint: !this.gatherPrints,
        earlyExit: !!this.opts.earlyExit,
      },
      this.regexCache,
      QUERY_SCOPE,
    );
  }

  private run<T>(f: (ctx: EvalContext) => T): T {
    const ctx = this.context();
    try {
      return f(ctx);
    } catch (e) {
      if (e instanceof RangeError && /call stack/i.test(e.message)) {
        throw new RegoError('evaluation exceeded the maximum stack depth', 'eval_limit_error');
      }
      throw e;
    } finally {
      if (ctx.prints.length) this.prints.push(...ctx.prints);
    }
  }

  /** Evaluates a rule reference like "data.agent_policy.CreateContainerRequest"; undefined when undefined. */
  evalRule(ref: string): unknown {
    const v = this.evalRuleValue(ref);
    return v === undefined ? undefined : toJS(v);
  }

  /** Like evalRule but returns the internal Rego value. */
  evalRuleValue(ref: string): Value | undefined {
    let t = this.queryCache.get(ref) as Term | undefined;
    if (!t) {
      const lits = parseQuery(ref);
      const only = lits[0];
      if (lits.length !== 1 || !only || only.k !== 'expr' || only.neg)
        throw new RegoError(`not a rule reference: ${ref}`);
      t = only.term;
      this.queryCache.set(ref, t);
    }
    const term = t;
    return this.run((ctx) => {
      let out: Value | undefined;
      ctx.evalTerm(term, new Map(), (v) => {
        out = v;
        return true;
      });
      return out;
    });
  }

  /**
   * Evaluates a rule reference and records every body expression that failed (in evaluation order), for
   * explaining denials. Slower than evalRule; for debugging only.
   */
  explainRule(ref: string): { value: unknown; failures: LiteralFailure[] } {
    const lits = parseQuery(ref);
    const only = lits[0];
    if (lits.length !== 1 || !only || only.k !== 'expr') throw new RegoError(`not a rule reference: ${ref}`);
    const failures: LiteralFailure[] = [];
    const value = this.run((ctx) => {
      ctx.onFail = (f) => failures.push(f);
      let out: Value | undefined;
      ctx.evalTerm(only.term, new Map(), (v) => {
        out = v;
        return true;
      });
      return out;
    });
    return { value: value === undefined ? undefined : toJS(value), failures };
  }

  evalQuery(query: string): QueryResult {
    const lines = query
      .split(/\n|;/)
      .map((s) => s.trim())
      .filter((s) => s);
    return {
      result: this.evalQueryValues(query).map((r) => {
        const bindings: Record<string, unknown> = {};
        for (const [k, v] of r.bindings) bindings[k] = toJS(v);
        return { expressions: r.expressions.map((v, j) => ({ value: toJS(v), text: lines[j] ?? '' })), bindings };
      }),
    };
  }

  /** Like evalQuery but returns internal Rego values (sets stay sets). */
  evalQueryValues(query: string): Array<{ expressions: Value[]; bindings: Map<string, Value> }> {
    let lits = this.queryCache.get('?' + query) as Literal[] | undefined;
    if (!lits) {
      lits = parseQuery(query);
      this.queryCache.set('?' + query, lits);
    }
    const body = lits;
    return this.run((ctx) => {
      const result: Array<{ expressions: Value[]; bindings: Map<string, Value> }> = [];
      const values: Value[] = [];
      const env: Env = new Map();
      const step = (i: number): boolean => {
        if (i === body.length) {
          const bindings = new Map<string, Value>();
          for (const [k, v] of env) if (v !== undefined && !k.startsWith('__') && k !== '_') bindings.set(k, v);
          result.push({ expressions: values.slice(), bindings });
          return false;
        }
        const lit = body[i] as Literal;
        if (lit.k === 'expr' && !lit.neg && lit.with.length === 0) {
          return ctx.evalTerm(lit.term, env, (v) => {
            // A single false expression is reported as a `false` result (as regorus does) rather than no result;
            // in a query of several expressions a false one means no result.
            if (v === false && body.length > 1) return false;
            values[i] = v;
            return step(i + 1);
          });
        }
        return ctx.evalLit(lit, env, () => {
          values[i] = true;
          return step(i + 1);
        });
      };
      step(0);
      return result;
    });
  }

  /** print() output gathered since the last call, each line "<file>:<line>: <message>". */
  takePrints(): string[] {
    return this.takePrintBatch().lines();
  }

  /** Like takePrints, but formats the lines only when `lines()` is called (cheap when they are not needed). */
  takePrintBatch(): PrintBatch {
    const p = this.prints;
    this.prints = [];
    return new PrintBatch(p);
  }

  /** A cheap copy sharing the compiled modules and regex cache; data, input and prints are independent. */
  clone(): Engine {
    const e = new Engine(this.opts, { compiled: this.compiled, regexCache: this.regexCache });
    e.data = this.data;
    e.input = this.input;
    e.gatherPrints = this.gatherPrints;
    return e;
  }

  /**
   * Turns print() on or off (default on). Off, print() arguments are not even evaluated, which makes policies
   * with many prints noticeably faster; evaluation is deterministic, so the same query on a clone taken before
   * evaluating, with prints on, reproduces the lines when they are needed (AgentPolicy does this for denials).
   */
  setGatherPrints(on: boolean): void {
    this.gatherPrints = on;
  }
}

/** print() output of one or more evaluations, formatted on first use. */
export class PrintBatch {
  private formatted: string[] | undefined;
  constructor(private readonly records: PrintRecord[]) {}
  get length(): number {
    return this.records.length;
  }
  lines(): string[] {
    this.formatted ??= this.records.map(formatPrint);
    return this.formatted;
  }
}

// ---------------------------------------------------------------------- compilation

let groupIds = 0;

function compile(modules: Module[], regexCache: Map<string, unknown>): Compiled {
  const root = new PkgNode([]);
  for (const m of modules) {
    let pkgNode = root;
    for (const p of m.pkg) {
      let c = pkgNode.children.get(p);
      if (!c) {
        c = new PkgNode([...pkgNode.path, p]);
        pkgNode.children.set(p, c);
      }
      pkgNode = c;
    }
    const imports = new Map<string, string[]>();
    for (const imp of m.imports) imports.set(imp.alias, imp.path);
    const scope: RuleScope = { pkgPath: m.pkg, imports, file: m.file };
    for (const rule of m.rules) {
      let r = rule;
      r.scope = scope;
      foldRule(r, m.file, regexCache);
      // `a.b(x) := ...` defines the function data.<pkg>.a.b: file it under the nested node
      let node = pkgNode;
      let pkgPath = m.pkg;
      const fnPath = r.args ? constStringPath(r.path) : undefined;
      if (fnPath && fnPath.length > 0) {
        const names = [r.name, ...fnPath];
        for (const p of names.slice(0, -1)) {
          let c = node.children.get(p);
          if (!c) {
            c = new PkgNode([...node.path, p]);
            node.children.set(p, c);
          }
          node = c;
        }
        pkgPath = [...m.pkg, ...names.slice(0, -1)];
        r = { ...r, name: names[names.length - 1] as string, path: [] };
      }
      let g = node.groups.get(r.name);
      if (!g) {
        g = {
          id: groupIds++,
          pkgPath,
          name: r.name,
          rules: [],
          defaultRule: undefined,
          isFunction: false,
          refHead: false,
          kind: 'complete',
        };
        node.groups.set(r.name, g);
      }
      if (r.args) g.isFunction = true;
      if (r.isDefault && r.path.length > 0) {
        g.refHead = true;
        (g.refDefaults ??= []).push(r);
        continue;
      }
      if (r.isDefault) {
        if (g.defaultRule) {
          throw new RegoError(
            `${m.file}:${r.loc.line}:${r.loc.col}: multiple default rules ${[...m.pkg, r.name].join('.')} found`,
            'rego_compile_error',
          );
        }
        g.defaultRule = r;
        continue;
      }
      if (r.path.length > 0) g.refHead = true;
      if (r.kind === 'contains') g.kind = 'contains';
      g.rules.push(r);
    }
  }
  // compile-time checks, once every rule name of every package is known
  for (const m of modules) {
    const node = findPkgNode(root, m.pkg);
    const aliases = new Set(m.imports.map((i) => i.alias));
    const isGlobal = (n: string): boolean =>
      n === 'input' || n === 'data' || aliases.has(n) || !!node?.groups.has(n) || !!node?.children.has(n);
    for (const r of m.rules) checkRule(r, m.file, isGlobal);
  }
  // constant rules: evaluated once at load
  const visit = (node: PkgNode): void => {
    for (const g of node.groups.values()) {
      if (g.isFunction || g.refHead || g.kind !== 'complete' || g.rules.length !== 1) continue;
      const r = g.rules[0] as Rule;
      if (r.def.body.length || r.def.else || !r.def.value) continue;
      const v = r.def.value;
      if (v.t === 'scalar') g.constValue = v.v;
      else if ((v.t === 'array' || v.t === 'object' || v.t === 'set') && v.cv !== undefined) g.constValue = v.cv;
    }
    for (const c of node.children.values()) visit(c);
  };
  visit(root);
  return { modules, root };
}

function findPkgNode(root: PkgNode, pkg: string[]): PkgNode | undefined {
  let node: PkgNode | undefined = root;
  for (const p of pkg) node = node?.children.get(p);
  return node;
}

/** The segments of a rule head path when all are constant strings. */
function constStringPath(path: Term[]): string[] | undefined {
  const out: string[] = [];
  for (const p of path) {
    if (p.t !== 'scalar' || typeof p.v !== 'string') return undefined;
    out.push(p.v);
  }
  return out;
}

/** Folds constant composite literals and validates constant regex patterns (fail closed at load). */
function foldRule(r: Rule, file: string, regexCache: Map<string, unknown>): void {
  const ctx = { file, regexCache };
  for (const a of r.args ?? []) foldTerm(a, ctx);
  for (const p of r.path) foldTerm(p, ctx);
  let d: Rule['def'] | undefined = r.def;
  while (d) {
    if (d.value) foldTerm(d.value, ctx);
    foldBody(d.body, ctx);
    d = d.else;
  }
}

interface FoldCtx {
  file: string;
  regexCache: Map<string, unknown>;
}

function foldBody(body: Literal[], ctx: FoldCtx): void {
  for (const l of body) {
    switch (l.k) {
      case 'expr':
        foldTerm(l.term, ctx);
        break;
      case 'unify':
      case 'assign':
        foldTerm(l.l, ctx);
        foldTerm(l.r, ctx);
        break;
      case 'somein':
        foldTerm(l.coll, ctx);
        break;
      case 'every':
        foldTerm(l.coll, ctx);
        foldBody(l.body, ctx);
        break;
    }
    for (const w of l.with) foldTerm(w.value, ctx);
  }
}

const REGEX_PATTERN_ARG: Record<string, number> = {
  'regex.match': 0,
  re_match: 0,
  'regex.find_n': 0,
  'regex.find_all_string_submatch_n': 0,
  'regex.split': 0,
  'regex.replace': 1,
};

function constOf(t: Term): Value | undefined {
  if (t.t === 'scalar') return t.v;
  if (t.t === 'array' || t.t === 'object' || t.t === 'set') return t.cv;
  return undefined;
}

function foldTerm(t: Term, ctx: FoldCtx): void {
  switch (t.t) {
    case 'array': {
      t.items.forEach((i) => foldTerm(i, ctx));
      const vals = t.items.map(constOf);
      if (vals.every((v) => v !== undefined)) t.cv = vals as Value[];
      break;
    }
    case 'set': {
      t.items.forEach((i) => foldTerm(i, ctx));
      const vals = t.items.map(constOf);
      if (vals.every((v) => v !== undefined)) t.cv = makeSet(vals as Value[]);
      break;
    }
    case 'object': {
      let all = true;
      const o = new RObject();
      for (const [k, v] of t.items) {
        foldTerm(k, ctx);
        foldTerm(v, ctx);
        const kv = constOf(k);
        const vv = constOf(v);
        if (kv === undefined || vv === undefined) all = false;
        else o.set(kv, vv);
      }
      if (all) t.cv = o;
      break;
    }
    case 'ref':
      foldTerm(t.head, ctx);
      t.path.forEach((p) => foldTerm(p, ctx));
      break;
    case 'call': {
      t.args.forEach((a) => foldTerm(a, ctx));
      const idx = REGEX_PATTERN_ARG[t.name];
      const pat = idx === undefined ? undefined : t.args[idx];
      if (pat && pat.t === 'scalar' && typeof pat.v === 'string') {
        try {
          compileRegex(pat.v, ctx.regexCache);
        } catch (e) {
          throw new RegoError(
            `${ctx.file}:${pat.loc.line}:${pat.loc.col}: ${(e as Error).message}`,
            'rego_compile_error',
          );
        }
      }
      break;
    }
    case 'bin':
      foldTerm(t.l, ctx);
      foldTerm(t.r, ctx);
      break;
    case 'neg':
      foldTerm(t.x, ctx);
      break;
    case 'member':
      foldTerm(t.val, ctx);
      foldTerm(t.coll, ctx);
      break;
    case 'arraycompr':
    case 'setcompr':
      foldTerm(t.head, ctx);
      foldBody(t.body, ctx);
      break;
    case 'objcompr':
      foldTerm(t.key, ctx);
      foldTerm(t.value, ctx);
      foldBody(t.body, ctx);
      break;
  }
}

function makeSet(vals: Value[]): RSet {
  return new RSet(vals);
}
