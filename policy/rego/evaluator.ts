/**
 * Rego evaluator: continuation-passing, backtracking interpretation of the compiled module tree.
 *
 * Every generator of solutions calls a continuation per solution; a continuation returns `true` to stop the
 * enumeration early (used by `not`, constant-valued rules and comprehensions that only need one answer).
 */
import type { Literal, Rule, RuleDef, RuleScope, Term } from './ast.js';
import { BuiltinError, InvalidRegexError, RegoError } from './errors.js';
import { compare, equal, formatValue, mergeObjects, RObject, RSet, typeName, type Value } from './value.js';
import type { Builtin } from './builtins/types.js';
import { callName } from './parser.js';
import { scheduleBody } from './schedule.js';

/**
 * Variable bindings. An unbound variable is either absent or mapped to `undefined`: unbinding sets `undefined`
 * rather than deleting, because deleting makes V8 shrink (reallocate) the map over and over as loops bind and
 * unbind the same names.
 */
export type Env = Map<string, Value | undefined>;
type K = () => boolean;
type KV = (v: Value) => boolean;

export interface RuleGroup {
  id: number;
  pkgPath: string[];
  name: string;
  rules: Rule[];
  defaultRule: Rule | undefined;
  isFunction: boolean;
  /** True when any definition has a ref head (`p[x] = y`, `a.b.c := 1`, `p.q contains x`). */
  refHead: boolean;
  kind: 'complete' | 'contains';
  /** Value computed once at load (constant rules like policy_data). */
  constValue?: Value;
  /** `default p[k] := v` rules of a ref-head group: fill keys that no rule defined. */
  refDefaults?: Rule[];
  /** Recycled call frames of a function (see callUser); all variables unbound while pooled. */
  framePool?: CallFrame[];
  /**
   * Early-exit eligibility, decided at first use: true when every definition has a constant value (no else
   * chain) and all values are equal, so the first success decides the result (see {@link EvalLimits.earlyExit}).
   */
  uniform?: boolean;
}

export class PkgNode {
  readonly children = new Map<string, PkgNode>();
  readonly groups = new Map<string, RuleGroup>();
  constructor(readonly path: string[]) {}
}

export interface EvalLimits {
  strict: boolean;
  /** Invalid regex patterns abort evaluation even in non-strict mode (so `not regex.match(...)` cannot pass). */
  failClosedRegex: boolean;
  deadline: number;
  maxDepth: number;
  /** Skip print() (its arguments are not evaluated; the expression is true). */
  noPrint?: boolean;
  /**
   * OPA-style early exit (only honoured together with noPrint, so print output keeps regorus' order): a function
   * or complete rule whose definitions all have the same constant value stops at its first successful body.
   * The result is the same; what is skipped is only the search for further (identical) solutions.
   */
  earlyExit?: boolean;
}

/** One print() call: formatted on demand by {@link formatPrint}. */
export interface PrintRecord {
  file: string;
  line: number;
  parts: Array<Value | undefined> | string;
}

export function formatPrint(p: PrintRecord): string {
  const msg =
    typeof p.parts === 'string'
      ? p.parts
      : p.parts.map((v) => (v === undefined ? '<undefined>' : formatValue(v))).join(' ');
  return `${p.file}:${p.line}: ${msg}`;
}

/** A body expression that produced no solution (used by policy explanations). */
export interface LiteralFailure {
  file: string;
  line: number;
  col: number;
  rule: string;
  depth: number;
}

const UNDEF = Symbol('undefined');
const DIRECT_YES = 1;
const DIRECT_NO = 0;
const DIRECT_NA = -1;
const DIRECT_BOUND = 2;
const TRUE_TERM: Term = { t: 'scalar', v: true, loc: { line: 0, col: 0 } };
/** Evaluation order of a body, stored on the body array (null: source order). */
const SCHEDULE: unique symbol = Symbol('schedule');

export class EvalContext {
  input: Value | undefined;
  data: RObject;
  cache = new Map<RuleGroup, Value | typeof UNDEF>();
  /** Parts of ref-head groups evaluated on their own (see evalRefHeadPartial). */
  partialCache = new Map<string, RObject>();
  partialInProgress = new Set<string>();
  inProgress = new Set<RuleGroup>();
  /** print() records; formatted lazily (most are never read when a request is allowed). */
  prints: PrintRecord[] = [];
  steps = 0;
  depth = 0;
  scope: RuleScope;
  scopeNode: PkgNode;
  locals: Set<string>;
  /** `with data.x as v` overrides, keyed by the dotted path. */
  overrides: Map<string, Value> | undefined;
  /** `with f as g` / `with f as value`: keyed by the replaced function (rule group or builtin). */
  functionOverrides: Map<RuleGroup | Builtin, { fn: RuleGroup | Builtin } | { value: Value }> | undefined;
  /** Name of the rule being evaluated (for failure traces). */
  ruleName = '';
  /** When set, called for every body expression that produced no solution. */
  onFail: ((f: LiteralFailure) => void) | undefined;
  /** See {@link EvalLimits.earlyExit}. */
  readonly earlyExit: boolean;
  /** Bindings made by direct assignments, undone in LIFO order (see {@link evalBody}). */
  private bindStack: Array<string | Value | undefined> = [];
  /** Binding replaced by the last direct assignment (see {@link direct}). */
  private directOld: Value | undefined;
  /** Set by {@link markFound}; see {@link hasSolution}. */
  private found = false;
  private readonly markFound: K = () => {
    this.found = true;
    return true;
  };
  /** Set by {@link takeFirst}; see {@link first} and {@link firstValue}. */
  private firstOut: Value | undefined;
  private readonly takeFirst: KV = (v) => {
    this.firstOut = v;
    return true;
  };

  constructor(
    readonly root: PkgNode,
    readonly builtins: Map<string, Builtin>,
    data: RObject,
    input: Value | undefined,
    readonly limits: EvalLimits,
    readonly regexCache: Map<string, unknown>,
    queryScope: RuleScope,
  ) {
    this.data = data;
    this.input = input;
    this.scope = queryScope;
    this.scopeNode = findNode(root, queryScope.pkgPath) ?? root;
    this.locals = new Set();
    this.earlyExit = !!limits.noPrint && !!limits.earlyExit;
  }

  // ------------------------------------------------------------------ errors & limits

  private err(msg: string, t?: { loc: { line: number; col: number } }, code: RegoError['code'] = 'eval_error'): never {
    const where = t ? `${this.scope.file}:${t.loc.line}:${t.loc.col}: ` : '';
    throw new RegoError(where + msg, code);
  }

  private tick(): void {
    if ((++this.steps & 1023) === 0 && performance.now() > this.limits.deadline) {
      throw new RegoError('evaluation exceeded the time limit', 'eval_limit_error');
    }
  }

  // ------------------------------------------------------------------ bodies

  evalBody(body: Literal[], i: number, env: Env, k: K): boolean {
    if (i === 0 && body.length > 1) body = this.scheduled(body, env);
    if (this.onFail) {
      if (i === body.length) return k();
      return this.evalLit(body[i] as Literal, env, bodyFrom(this, body, i + 1, env, k));
    }
    // Fast path: a run of literals that yield at most one solution (filters and `x := simple`) is evaluated in a
    // loop, without a continuation per literal. Its bindings are pushed on a shared stack (name, previous value)
    // and undone when the rest returns, or when an error unwinds (print() swallows errors of its arguments).
    const bound = this.bindStack;
    const mark = bound.length;
    try {
      for (; i < body.length; i++) {
        const lit = body[i] as Literal;
        const r = this.direct(lit, env);
        if (r === DIRECT_NO) return false;
        if (r === DIRECT_NA) break;
        if (r === DIRECT_BOUND) bound.push((lit as { l: { name: string } }).l.name, this.directOld);
      }
      if (i === body.length) return k();
      const lit = body[i] as Literal;
      if (
        lit.k === 'somein' &&
        !lit.key &&
        !lit.neg &&
        !lit.with.length &&
        lit.val.t === 'var' &&
        lit.val.name !== '_' &&
        this.simple(lit.coll, env)
      ) {
        // `some x in coll`: the rest of the body runs per element without a continuation closure
        this.tick();
        const coll = this.fastEval(lit.coll, env);
        if (coll === undefined) return false;
        if (!(Array.isArray(coll) || coll instanceof RObject || coll instanceof RSet))
          this.err('`some .. in collection` expects array/set/object.', lit);
        return this.someVarInRest(lit.val.name, coll, env, body, i + 1, k);
      }
      return this.evalLit(lit, env, bodyFrom(this, body, i + 1, env, k));
    } finally {
      if (bound.length !== mark) this.unbind(mark, env);
    }
  }

  private unbind(mark: number, env: Env): void {
    const bound = this.bindStack;
    for (let j = bound.length - 2; j >= mark; j -= 2) {
      const name = bound[j] as string;
      env.set(name, bound[j + 1] as Value | undefined);
    }
    bound.length = mark;
  }

  /**
   * Evaluates a literal that has at most one solution directly: a filter (expression without bindings) or
   * `var := term` with a directly evaluable right side. Returns DIRECT_NA when the literal needs the general
   * path; DIRECT_BOUND after an assignment, whose previous binding is left in `directOld` (the caller restores it).
   */
  private direct(lit: Literal, env: Env): number {
    if (lit.with.length) return DIRECT_NA;
    if (lit.k === 'expr') {
      const t = lit.term;
      if (t.t === 'call') {
        if (t.name === 'print') {
          if (!this.limits.noPrint) return DIRECT_NA;
          this.tick();
          return DIRECT_YES;
        }
        if (this.functionOverrides || this.callArity(t) !== t.args.length) return DIRECT_NA;
      } else if (t.t === 'scalar' || t.t === 'arraycompr' || t.t === 'setcompr' || t.t === 'objcompr') {
        return DIRECT_NA;
      }
      if (!this.simple(t, env)) return DIRECT_NA;
      this.tick();
      const v = this.fastEval(t, env);
      const ok = v !== undefined && v !== false;
      return ok !== lit.neg ? DIRECT_YES : DIRECT_NO;
    }
    if (lit.k === 'assign' && !lit.neg && lit.l.t === 'var' && lit.l.name !== '_') {
      const r = lit.r;
      if (!this.simple(r, env)) return DIRECT_NA;
      this.tick();
      const v = this.fastEval(r, env);
      if (v === undefined) return DIRECT_NO;
      const name = lit.l.name;
      this.directOld = env.get(name);
      env.set(name, v);
      return DIRECT_BOUND;
    }
    if (
      lit.k === 'every' &&
      lit.val.t === 'var' &&
      lit.val.name !== '_' &&
      (!lit.key || (lit.key.t === 'var' && lit.key.name !== '_')) &&
      this.simple(lit.coll, env)
    ) {
      this.tick();
      const coll = this.fastEval(lit.coll, env);
      // as in evalLitPositive: an undefined domain or a non-collection makes `every` false
      const ok =
        (Array.isArray(coll) || coll instanceof RObject || coll instanceof RSet) &&
        this.everyVarIn(lit.key?.t === 'var' ? lit.key.name : undefined, lit.val.name, coll, lit.body, env);
      return ok !== lit.neg ? DIRECT_YES : DIRECT_NO;
    }
    return DIRECT_NA;
  }

  /** The body in a safe evaluation order (see schedule.ts); decided once per body, at its first evaluation. */
  private scheduled(body: Literal[], env: Env): Literal[] {
    const b = body as Literal[] & { [SCHEDULE]?: Literal[] | null };
    let order = b[SCHEDULE];
    if (order === undefined) {
      const isLocal = (n: string): boolean => this.locals.has(n) || !this.isGlobal(n);
      order = scheduleBody(body, isLocal, boundNames(env)) ?? null;
      b[SCHEDULE] = order;
    }
    return order ?? body;
  }

  evalLit(lit: Literal, env: Env, k: K): boolean {
    this.tick();
    if (lit.with.length) return this.evalWith(lit, env, k);
    if (lit.neg) {
      const found = this.hasSolution(lit, env);
      if (found && this.onFail) this.reportFail(lit);
      return found ? false : k();
    }
    if (!this.onFail) return this.evalLitPositive(lit, env, k);
    return this.evalLitTraced(lit, env, k);
  }

  /** Does the (positive form of the) literal have at least one solution? Stops at the first. */
  private hasSolution(lit: Literal, env: Env): boolean {
    const outer = this.found;
    this.found = false;
    try {
      this.evalLitPositive(lit, env, this.markFound);
      return this.found;
    } finally {
      this.found = outer;
    }
  }

  private evalLitTraced(lit: Literal, env: Env, k: K): boolean {
    let any = false;
    const r = this.evalLitPositive(lit, env, () => {
      any = true;
      return k();
    });
    if (!any) this.reportFail(lit);
    return r;
  }

  private evalLitPositive(lit: Literal, env: Env, k: K): boolean {
    switch (lit.k) {
      case 'expr': {
        const t = lit.term;
        if (t.t === 'call') {
          if (t.name === 'print') return this.evalPrint(t, env, k);
          if (!this.functionOverrides && this.callArity(t) === t.args.length && this.simple(t, env)) {
            const v = this.fastEval(t, env);
            return v === undefined || v === false ? false : k();
          }
          return this.evalCall(t, env, unlessFalse(k), true);
        }
        return this.evalTerm(t, env, unlessFalse(k));
      }
      case 'unify':
        return this.unify(lit.l, lit.r, env, k);
      case 'assign':
        return this.evalTerm(lit.r, env, declareAs(this, lit.l, env, k));
      case 'some': {
        const saved: Array<[string, Value]> = [];
        for (const v of lit.vars) {
          const old = env.get(v);
          if (old !== undefined) {
            saved.push([v, old]);
            env.set(v, undefined);
          }
        }
        const r = k();
        for (const [n, v] of saved) env.set(n, v);
        return r;
      }
      case 'somein':
        return this.evalSomeIn(lit, env, k);
      case 'every':
        return this.evalEvery(lit, env, k);
    }
  }

  private evalSomeIn(lit: Extract<Literal, { k: 'somein' }>, env: Env, k: K): boolean {
    return this.evalTerm(lit.coll, env, (coll) => {
      if (!(Array.isArray(coll) || coll instanceof RObject || coll instanceof RSet))
        this.err('`some .. in collection` expects array/set/object.', lit);
      if (!lit.key && lit.val.t === 'var' && lit.val.name !== '_') return this.someVarIn(lit.val.name, coll, env, k);
      // as regorus: an array pattern whose length matches no element is an error, not a silent miss
      const want = lit.val.t === 'array' ? lit.val.items.length : -1;
      let matched = false;
      let mismatch = false;
      const body = (): boolean => {
        matched = true;
        return k();
      };
      const r = this.iterate(coll, (key, val) => {
        if (want >= 0 && Array.isArray(val) && val.length !== want) {
          mismatch = true;
          return false;
        }
        return lit.key
          ? this.matchPattern(lit.key, key, env, () => this.matchPattern(lit.val, val, env, body, true), true)
          : this.matchPattern(lit.val, val, env, body, true);
      });
      if (!matched && mismatch) this.err('mismatch in number of array elements', lit);
      return r;
    });
  }

  private evalEvery(lit: Extract<Literal, { k: 'every' }>, env: Env, k: K): boolean {
    let ok = false;
    this.evalTerm(lit.coll, env, (coll) => {
      if (!(Array.isArray(coll) || coll instanceof RObject || coll instanceof RSet)) return true;
      if (lit.val.t === 'var' && lit.val.name !== '_' && (!lit.key || (lit.key.t === 'var' && lit.key.name !== '_'))) {
        ok = this.everyVarIn(lit.key?.t === 'var' ? lit.key.name : undefined, lit.val.name, coll, lit.body, env);
        return true;
      }
      let all = true;
      this.iterate(coll, (key, val) => {
        const box = { found: false };
        if (lit.key)
          this.matchPattern(
            lit.key,
            key,
            env,
            () => this.matchPattern(lit.val, val, env, () => this.everyBody(lit.body, env, box), true),
            true,
          );
        else this.matchPattern(lit.val, val, env, () => this.everyBody(lit.body, env, box), true);
        if (!box.found) {
          all = false;
          return true;
        }
        return false;
      });
      ok = all;
      return true;
    });
    return ok ? k() : false;
  }

  private reportFail(lit: Literal): void {
    this.onFail?.({
      file: this.scope.file,
      line: lit.loc.line,
      col: lit.loc.col,
      rule: this.ruleName,
      depth: this.depth,
    });
  }

  /** {@link someVarIn} followed by the rest of a body (from literal `i`). */
  private someVarInRest(
    name: string,
    coll: Value[] | RObject | RSet,
    env: Env,
    body: Literal[],
    i: number,
    k: K,
  ): boolean {
    const old = env.get(name);
    let r = false;
    try {
      const elems = Array.isArray(coll) ? coll : coll instanceof RSet ? coll.sorted() : undefined;
      if (elems) {
        for (let j = 0; j < elems.length && !r; j++) {
          env.set(name, elems[j] as Value);
          r = this.evalBody(body, i, env, k);
        }
      } else {
        const entries = (coll as RObject).entries();
        for (let j = 0; j < entries.length && !r; j++) {
          env.set(name, (entries[j] as [Value, Value])[1]);
          r = this.evalBody(body, i, env, k);
        }
      }
    } finally {
      env.set(name, old);
    }
    return r;
  }

  /** `some x in coll` with a plain variable: binds it to each element in turn (no pattern matching). */
  private someVarIn(name: string, coll: Value[] | RObject | RSet, env: Env, k: K): boolean {
    const old = env.get(name);
    let r = false;
    const elems = Array.isArray(coll) ? coll : coll instanceof RSet ? coll.sorted() : undefined;
    if (elems) {
      for (let i = 0; i < elems.length && !r; i++) {
        env.set(name, elems[i] as Value);
        r = k();
      }
    } else {
      const entries = (coll as RObject).entries();
      for (let i = 0; i < entries.length && !r; i++) {
        env.set(name, (entries[i] as [Value, Value])[1]);
        r = k();
      }
    }
    env.set(name, old);
    return r;
  }

  /** `every [k,] v in coll { body }` with plain variables: true when the body holds for every element. */
  private everyVarIn(
    keyName: string | undefined,
    name: string,
    coll: Value[] | RObject | RSet,
    body: Literal[],
    env: Env,
  ): boolean {
    const oldKey = keyName === undefined ? undefined : env.get(keyName);
    const old = env.get(name);
    let all = true;
    try {
      if (Array.isArray(coll)) {
        for (let i = 0; i < coll.length && all; i++)
          all = this.everyHolds(keyName, i, name, coll[i] as Value, body, env);
      } else if (coll instanceof RSet) {
        const elems = coll.sorted();
        for (let i = 0; i < elems.length && all; i++) {
          const e = elems[i] as Value;
          all = this.everyHolds(keyName, e, name, e, body, env);
        }
      } else {
        const entries = coll.entries();
        for (let i = 0; i < entries.length && all; i++) {
          const e = entries[i] as [Value, Value];
          all = this.everyHolds(keyName, e[0], name, e[1], body, env);
        }
      }
    } finally {
      env.set(name, old);
      if (keyName !== undefined) env.set(keyName, oldKey);
    }
    return all;
  }

  /** One element of {@link everyVarIn}: binds the variables and reports whether the body has a solution. */
  private everyHolds(
    keyName: string | undefined,
    key: Value,
    name: string,
    val: Value,
    body: Literal[],
    env: Env,
  ): boolean {
    if (keyName !== undefined) env.set(keyName, key);
    env.set(name, val);
    const outer = this.found;
    this.found = false;
    try {
      this.evalBody(body, 0, env, this.markFound);
      return this.found;
    } finally {
      this.found = outer;
    }
  }

  private everyBody(body: Literal[], env: Env, box: { found: boolean }): boolean {
    this.evalBody(body, 0, env, () => {
      box.found = true;
      return true;
    });
    return false;
  }

  private evalWith(lit: Literal, env: Env, k: K): boolean {
    const savedInput = this.input;
    const savedData = this.data;
    const savedCache = this.cache;
    const savedPartial = this.partialCache;
    const savedOverrides = this.overrides;
    const savedFns = this.functionOverrides;
    let result = false;
    const apply = (i: number): boolean => {
      if (i === lit.with.length) {
        this.cache = new Map();
        this.partialCache = new Map();
        const plain = { ...lit, with: [] } as Literal;
        // Continuation runs with the original environment restored.
        let any = false;
        const collected: Env[] = [];
        this.evalLit(plain, env, () => {
          any = true;
          collected.push(new Map(env));
          return false;
        });
        this.input = savedInput;
        this.data = savedData;
        this.cache = savedCache;
        this.partialCache = savedPartial;
        this.overrides = savedOverrides;
        this.functionOverrides = savedFns;
        if (!any) return false;
        for (const snap of collected) {
          const added: string[] = [];
          for (const [n, v] of snap) {
            if (v !== undefined && env.get(n) === undefined) {
              env.set(n, v);
              added.push(n);
            }
          }
          const r = k();
          for (const n of added) env.set(n, undefined);
          if (r) return true;
        }
        return false;
      }
      const w = lit.with[i] as (typeof lit.with)[number];
      const bound = w.value.t === 'var' && env.get(w.value.name) !== undefined;
      const replacement = bound ? undefined : this.resolveFunctionRef(w.value);
      const withValue = (f: (v: Value) => boolean): boolean => (replacement ? f(null) : this.evalTerm(w.value, env, f));
      return withValue((v) => {
        const target = w.target;
        const path = this.withTargetPath(target);
        if (path && path[0] === 'input') {
          this.input = setPath(this.input, path.slice(1), v);
          return apply(i + 1);
        }
        const fnTarget = this.resolveFunctionRef(target);
        if (fnTarget) {
          this.functionOverrides = new Map(this.functionOverrides ?? []);
          this.functionOverrides.set(fnTarget, replacement ? { fn: replacement } : { value: v });
          return apply(i + 1);
        }
        if (path && path[0] === 'data') {
          this.overrides = new Map(this.overrides ?? []);
          this.overrides.set(path.slice(1).join('\u0000'), v);
          return apply(i + 1);
        }
        this.err('`with` target must be input, data or a function', target);
        return apply(i + 1);
      });
    };
    result = apply(0);
    this.input = savedInput;
    this.data = savedData;
    this.cache = savedCache;
    this.partialCache = savedPartial;
    this.overrides = savedOverrides;
    this.functionOverrides = savedFns;
    return result;
  }

  private evalPrint(t: Extract<Term, { t: 'call' }>, env: Env, k: K): boolean {
    if (this.limits.noPrint) return k();
    const parts: Array<Value | undefined> = [];
    for (const a of t.args) {
      let got: Value | undefined;
      try {
        if (this.simple(a, env)) got = this.fastEval(a, env);
        else
          this.evalTermSlow(a, env, (v) => {
            got = v;
            return true;
          });
      } catch (e) {
        if (!(e instanceof RegoError) || e.code === 'eval_limit_error' || e.code === 'eval_conflict_error') throw e;
      }
      parts.push(got);
    }
    this.prints.push({ file: this.scope.file, line: t.loc.line, parts });
    return k();
  }

  // ------------------------------------------------------------------ unification

  /** Is `name` an unbound variable that a pattern may bind here? */
  private bindable(name: string, env: Env): boolean {
    if (name === '_') return true;
    if (env.get(name) !== undefined) return false;
    if (this.locals.has(name)) return true;
    return !this.isGlobal(name);
  }

  private isGlobal(name: string): boolean {
    return (
      name === 'input' ||
      name === 'data' ||
      this.scopeNode.groups.has(name) ||
      this.scopeNode.children.has(name) ||
      this.scope.imports.has(name)
    );
  }

  private hasUnbound(t: Term, env: Env): boolean {
    switch (t.t) {
      case 'var':
        return this.bindable(t.name, env);
      case 'array':
        return t.cv === undefined && t.items.some((x) => this.hasUnbound(x, env));
      case 'object':
        return t.cv === undefined && t.items.some(([, x]) => this.hasUnbound(x, env));
      default:
        return false;
    }
  }

  unify(l: Term, r: Term, env: Env, k: K): boolean {
    if (this.hasUnbound(l, env)) {
      if (r.t === 'array' && l.t === 'array' && this.hasUnbound(r, env))
        return this.unifyArrays(l.items, r.items, 0, env, k);
      if (this.hasUnbound(r, env) && r.t === 'var')
        return this.evalTerm(l, env, (v) => this.matchPattern(r, v, env, k, false));
      return this.evalTerm(r, env, (v) => this.matchPattern(l, v, env, k, false));
    }
    if (this.hasUnbound(r, env)) return this.evalTerm(l, env, (v) => this.matchPattern(r, v, env, k, false));
    return this.evalTerm(l, env, (a) => this.evalTerm(r, env, (b) => (equal(a, b) ? k() : false)));
  }

  private unifyArrays(a: Term[], b: Term[], i: number, env: Env, k: K): boolean {
    if (a.length !== b.length) return false;
    if (i === a.length) return k();
    return this.unify(a[i] as Term, b[i] as Term, env, () => this.unifyArrays(a, b, i + 1, env, k));
  }

  /** Matches a pattern term against a value, binding unbound variables. `declare` shadows (`:=`, some-in). */
  matchPattern(p: Term, v: Value, env: Env, k: K, declare: boolean): boolean {
    switch (p.t) {
      case 'var': {
        const name = p.name;
        if (name === '_') return k();
        const old = env.get(name);
        if (old !== undefined && !declare) return equal(old, v) ? k() : false;
        if (old === undefined && !declare && !this.bindable(name, env)) return this.matchEqual(p, v, env, k);
        env.set(name, v);
        const r = k();
        env.set(name, old);
        return r;
      }
      case 'array':
        if (!Array.isArray(v) || v.length !== p.items.length) return false;
        return this.matchArray(p.items, v, 0, env, k, declare);
      case 'object':
        if (!(v instanceof RObject) || v.size !== p.items.length) return false;
        return this.matchObject(p.items, v, 0, env, k, declare);
      default:
        return this.matchEqual(p, v, env, k);
    }
  }

  /** Succeeds (once) when the term evaluates to a value equal to `v`. */
  private matchEqual(p: Term, v: Value, env: Env, k: K): boolean {
    return this.evalTerm(p, env, (x) => (equal(x, v) ? k() : false));
  }

  private matchArray(items: Term[], v: Value[], i: number, env: Env, k: K, declare: boolean): boolean {
    if (i === items.length) return k();
    return this.matchPattern(
      items[i] as Term,
      v[i] as Value,
      env,
      () => this.matchArray(items, v, i + 1, env, k, declare),
      declare,
    );
  }

  private matchObject(items: Array<[Term, Term]>, v: RObject, i: number, env: Env, k: K, declare: boolean): boolean {
    if (i === items.length) return k();
    const [kt, vt] = items[i] as [Term, Term];
    return this.evalTerm(kt, env, (key) => {
      const child = v.get(key);
      if (child === undefined) return false;
      return this.matchPattern(vt, child, env, () => this.matchObject(items, v, i + 1, env, k, declare), declare);
    });
  }

  // ------------------------------------------------------------------ terms

  evalTerm(t: Term, env: Env, k: KV): boolean {
    if (t.t === 'scalar') return k(t.v);
    if (this.simple(t, env)) {
      const v = this.fastEval(t, env);
      return v === undefined ? false : k(v);
    }
    return this.evalTermSlow(t, env, k);
  }

  /** Can `t` be evaluated directly (it yields at most one value and binds nothing)? */
  private simple(t: Term, env: Env): boolean {
    let sv = t.sv;
    if (sv === undefined) {
      const acc: string[] = [];
      sv = this.simpleVars(t, acc) ? acc : null;
      t.sv = sv;
    }
    if (sv === null) return false;
    for (let i = 0; i < sv.length; i++) if (env.get(sv[i] as string) === undefined) return false;
    return true;
  }

  /** Collects the local variables of a term; false when the term can never be evaluated directly. */
  private simpleVars(t: Term, acc: string[]): boolean {
    switch (t.t) {
      case 'scalar':
        return true;
      case 'var':
        if (t.name === '_') return false;
        if (this.locals.has(t.name) || !this.isGlobal(t.name)) acc.push(t.name);
        return true;
      case 'ref':
        if (!this.simpleVars(t.head, acc)) return false;
        for (const p of t.path) if (!this.simpleVars(p, acc)) return false;
        return true;
      case 'call':
        if (t.name === 'print') return false;
        for (const a of t.args) if (!this.simpleVars(a, acc)) return false;
        return true;
      case 'bin':
        return this.simpleVars(t.l, acc) && this.simpleVars(t.r, acc);
      case 'neg':
        return this.simpleVars(t.x, acc);
      case 'member':
        return (
          (t.key === undefined || this.simpleVars(t.key, acc)) &&
          this.simpleVars(t.val, acc) &&
          this.simpleVars(t.coll, acc)
        );
      case 'array':
      case 'set':
        if (t.cv !== undefined) return true;
        for (const i of t.items) if (!this.simpleVars(i, acc)) return false;
        return true;
      case 'object':
        if (t.cv !== undefined) return true;
        for (const [a, b] of t.items) if (!this.simpleVars(a, acc) || !this.simpleVars(b, acc)) return false;
        return true;
      case 'arraycompr':
      case 'setcompr':
      case 'objcompr':
        return true;
    }
  }

  /** Declared arity of a call's target (-1 when unknown or variadic). */
  private callArity(t: Extract<Term, { t: 'call' }>): number {
    let target = t.target as RuleGroup | Builtin | undefined;
    if (target === undefined) {
      target = this.resolveCall(t);
      if (target === undefined) return -1;
      t.target = target;
    }
    if ('rules' in target) return target.rules[0]?.args?.length ?? target.defaultRule?.args?.length ?? -1;
    return target.arity;
  }

  private first(t: Term, env: Env): Value | undefined {
    const outer = this.firstOut;
    this.firstOut = undefined;
    try {
      this.evalTermSlow(t, env, this.takeFirst);
      return this.firstOut;
    } finally {
      this.firstOut = outer;
    }
  }

  /** Direct evaluation of a simple term (see {@link simple}); undefined = Rego undefined. */
  private fastEval(t: Term, env: Env): Value | undefined {
    switch (t.t) {
      case 'scalar':
        return t.v;
      case 'var': {
        const v = env.get(t.name);
        if (v !== undefined) return v;
        if (t.name === 'input') return this.input;
        return this.first(t, env);
      }
      case 'ref': {
        const head = t.head;
        let cur: Value | undefined;
        if (head.t === 'var') {
          const name = head.name;
          cur = env.get(name);
          if (cur === undefined) {
            if (name === 'input') cur = this.input;
            else {
              const g = this.scopeNode.groups.get(name);
              if (
                g &&
                !g.isFunction &&
                !g.refHead &&
                !this.overrides &&
                !this.scopeNode.children.has(name) &&
                !this.locals.has(name)
              )
                cur = this.evalGroup(g);
              else return this.first(t, env);
            }
          }
        } else cur = this.fastEval(head, env);
        for (const p of t.path) {
          if (cur === undefined) return undefined;
          const key = p.t === 'scalar' ? p.v : this.fastEval(p, env);
          if (key === undefined) return undefined;
          cur = index(cur, key);
        }
        return cur;
      }
      case 'call': {
        if (this.functionOverrides) return this.first(t, env);
        let target = t.target as RuleGroup | Builtin | undefined;
        if (target === undefined) {
          target = this.resolveCall(t);
          if (target === undefined) return this.first(t, env);
          t.target = target;
        }
        const n = t.args.length;
        if ('rules' in target) {
          const arity = target.rules[0]?.args?.length ?? target.defaultRule?.args?.length ?? 0;
          if (arity !== n) return this.first(t, env);
        } else if (target.arity >= 0 && target.arity !== n) return this.first(t, env);
        const args: Value[] = new Array<Value>(n);
        for (let i = 0; i < n; i++) {
          const a = this.fastEval(t.args[i] as Term, env);
          if (a === undefined) return undefined;
          args[i] = a;
        }
        if ('rules' in target) return this.callUser(target, args, t);
        return this.invokeBuiltin(target, args, t);
      }
      case 'bin': {
        const a = this.fastEval(t.l, env);
        if (a === undefined) return undefined;
        const b = this.fastEval(t.r, env);
        if (b === undefined) return undefined;
        return this.binop(t, a, b);
      }
      case 'neg': {
        const x = this.fastEval(t.x, env);
        if (x === undefined) return undefined;
        if (typeof x !== 'number') {
          this.builtinFailure(`unary minus: operand must be a number, got ${typeName(x)}`, t);
          return undefined;
        }
        return -x;
      }
      case 'member': {
        const x = this.fastEval(t.val, env);
        if (x === undefined) return undefined;
        const c = this.fastEval(t.coll, env);
        if (c === undefined) return undefined;
        let kx: Value | undefined;
        if (t.key) {
          kx = this.fastEval(t.key, env);
          if (kx === undefined) return undefined;
        }
        return contains(c, x, kx);
      }
      case 'array': {
        if (t.cv !== undefined) return t.cv;
        const out: Value[] = new Array<Value>(t.items.length);
        for (let i = 0; i < t.items.length; i++) {
          const v = this.fastEval(t.items[i] as Term, env);
          if (v === undefined) return undefined;
          out[i] = v;
        }
        return out;
      }
      case 'set': {
        if (t.cv !== undefined) return t.cv;
        const out = new RSet();
        for (const i of t.items) {
          const v = this.fastEval(i, env);
          if (v === undefined) return undefined;
          out.add(v);
        }
        return out;
      }
      case 'object': {
        if (t.cv !== undefined) return t.cv;
        const out = new RObject();
        for (const [kt, vt] of t.items) {
          const key = this.fastEval(kt, env);
          if (key === undefined) return undefined;
          const v = this.fastEval(vt, env);
          if (v === undefined) return undefined;
          out.set(key, v);
        }
        return out;
      }
      default:
        return this.first(t, env);
    }
  }

  private invokeBuiltin(b: Builtin, args: Value[], t: Extract<Term, { t: 'call' }>): Value | undefined {
    try {
      return b.fn(args, this);
    } catch (e) {
      if (e instanceof BuiltinError) {
        if (e instanceof InvalidRegexError && this.limits.failClosedRegex)
          this.err(`${t.name}: ${e.message}`, t, 'eval_builtin_error');
        if (this.limits.strict) this.err(`${t.name}: ${e.message}`, t, 'eval_builtin_error');
        return undefined;
      }
      throw e;
    }
  }

  private evalTermSlow(t: Term, env: Env, k: KV): boolean {
    switch (t.t) {
      case 'scalar':
        return k(t.v);
      case 'var':
        return this.evalVar(t, env, k);
      case 'ref':
        return this.evalRef(t, env, k);
      case 'array':
        if (t.cv !== undefined) return k(t.cv);
        return this.evalItems(t.items, 0, [], env, k as (items: Value[]) => boolean);
      case 'set':
        if (t.cv !== undefined) return k(t.cv);
        return this.evalItems(t.items, 0, [], env, asSet(k));
      case 'object':
        if (t.cv !== undefined) return k(t.cv);
        return this.evalObject(t.items, 0, new RObject(), env, k);
      case 'arraycompr':
        return k(this.comprehensionValues(t, env));
      case 'setcompr':
        return k(new RSet(this.comprehensionValues(t, env)));
      case 'objcompr':
        return k(this.objectComprehension(t, env));
      case 'call':
        return this.evalCall(t, env, k);
      case 'bin':
        return this.evalBinary(t, env, k);
      case 'neg':
        return this.evalNeg(t, env, k);
      case 'member':
        return this.evalMemberTerm(t, env, k);
    }
  }

  /** The head values of an array or set comprehension, one per solution of its body, in evaluation order. */
  private comprehensionValues(t: Extract<Term, { t: 'arraycompr' | 'setcompr' }>, env: Env): Value[] {
    const out: Value[] = [];
    const push: KV = (v) => {
      out.push(v);
      return false;
    };
    this.evalBody(t.body, 0, env, () => this.evalTerm(t.head, env, push));
    return out;
  }

  private objectComprehension(t: Extract<Term, { t: 'objcompr' }>, env: Env): RObject {
    const out = new RObject();
    this.evalBody(t.body, 0, env, () =>
      this.evalTerm(t.key, env, (key) =>
        this.evalTerm(t.value, env, (v) => {
          const old = out.get(key);
          if (old !== undefined && !equal(old, v)) {
            this.err(
              `object keys must be unique: conflicting values for key ${formatValue(key, false)}`,
              t,
              'eval_conflict_error',
            );
          }
          out.set(key, v);
          return false;
        }),
      ),
    );
    return out;
  }

  private evalBinary(t: Extract<Term, { t: 'bin' }>, env: Env, k: KV): boolean {
    return this.evalTerm(t.l, env, (a) =>
      this.evalTerm(t.r, env, (b) => {
        const v = this.binop(t, a, b);
        return v === undefined ? false : k(v);
      }),
    );
  }

  private evalNeg(t: Extract<Term, { t: 'neg' }>, env: Env, k: KV): boolean {
    return this.evalTerm(t.x, env, (x) => {
      if (typeof x !== 'number')
        return this.builtinFailure(`unary minus: operand must be a number, got ${typeName(x)}`, t);
      return k(-x);
    });
  }

  private evalMemberTerm(t: Extract<Term, { t: 'member' }>, env: Env, k: KV): boolean {
    if (!t.key) return this.evalMember(t, undefined, env, k);
    return this.evalTerm(t.key, env, (kx) => this.evalMember(t, kx, env, k));
  }

  /** `[kx,] x in coll` once the key (if any) is known. */
  private evalMember(t: Extract<Term, { t: 'member' }>, kx: Value | undefined, env: Env, k: KV): boolean {
    return this.evalTerm(t.val, env, (x) => this.evalTerm(t.coll, env, (c) => k(contains(c, x, kx))));
  }

  private builtinFailure(msg: string, t: Term): boolean {
    if (this.limits.strict) this.err(msg, t, 'eval_type_error');
    return false;
  }

  private evalItems(items: Term[], i: number, acc: Value[], env: Env, k: (items: Value[]) => boolean): boolean {
    if (i === items.length) return k(acc.slice());
    return this.evalTerm(items[i] as Term, env, (v) => {
      acc[i] = v;
      return this.evalItems(items, i + 1, acc, env, k);
    });
  }

  private evalObject(items: Array<[Term, Term]>, i: number, acc: RObject, env: Env, k: KV): boolean {
    if (i === items.length) {
      const o = new RObject();
      for (const [key, v] of acc.str) o.str.set(key, v);
      if (acc.other) for (const [key, v] of acc.other.values()) o.set(key, v);
      return k(o);
    }
    const [kt, vt] = items[i] as [Term, Term];
    return this.evalTerm(kt, env, (key) =>
      this.evalTerm(vt, env, (v) => {
        const had = acc.get(key);
        acc.set(key, v);
        const r = this.evalObject(items, i + 1, acc, env, k);
        if (had === undefined) acc.delete(key);
        else acc.set(key, had);
        return r;
      }),
    );
  }

  private evalVar(t: Extract<Term, { t: 'var' }>, env: Env, k: KV): boolean {
    const name = t.name;
    const v = env.get(name);
    if (v !== undefined) return k(v);
    if (name === '_') this.err('wildcard "_" used as a value', t);
    if (this.locals.has(name)) this.err(`var ${name} is unsafe (not bound)`, t, 'rego_compile_error');
    return this.evalGlobal(name, undefined, env, k, t);
  }

  private evalGlobal(name: string, path: Term[] | undefined, env: Env, k: KV, t: Term): boolean {
    const p = path ?? [];
    if (name === 'input') {
      if (this.input === undefined) return false;
      return this.walkValue(this.input, p, 0, env, k);
    }
    if (name === 'data') return this.walkData(this.root, this.data, [], p, 0, env, k);
    if (this.scopeNode.groups.has(name) || this.scopeNode.children.has(name)) {
      const base = dataAt(this.data, this.scopeNode.path);
      return this.walkDataKey(this.scopeNode, base, this.scopeNode.path, name, p, 0, env, k);
    }
    const imp = this.scope.imports.get(name);
    if (imp) {
      if (imp[0] === 'input') {
        if (this.input === undefined) return false;
        let v: Value | undefined = this.input;
        for (const s of imp.slice(1)) {
          v = index(v as Value, s);
          if (v === undefined) return false;
        }
        return this.walkValue(v as Value, p, 0, env, k);
      }
      return this.walkData(this.root, this.data, [], [...importPath(imp, t), ...p], 0, env, k);
    }
    this.err(`var ${name} is unsafe (not bound)`, t, 'rego_compile_error');
  }

  private evalRef(t: Extract<Term, { t: 'ref' }>, env: Env, k: KV): boolean {
    const head = t.head;
    if (head.t === 'var') {
      const v = env.get(head.name);
      if (v !== undefined) return this.walkValue(v, t.path, 0, env, k);
      if (this.locals.has(head.name)) this.err(`var ${head.name} is unsafe (not bound)`, head, 'rego_compile_error');
      return this.evalGlobal(head.name, t.path, env, k, head);
    }
    return this.evalRefOfTerm(head, t.path, env, k);
  }

  private evalRefOfTerm(head: Term, path: Term[], env: Env, k: KV): boolean {
    return this.evalTerm(head, env, (v) => this.walkValue(v, path, 0, env, k));
  }

  /** Walks a plain value along a ref path, iterating over unbound variables. */
  walkValue(v: Value, path: Term[], i: number, env: Env, k: KV): boolean {
    if (i === path.length) return k(v);
    const el = path[i] as Term;
    if (el.t === 'scalar') {
      const child = index(v, el.v);
      return child === undefined ? false : this.walkValue(child, path, i + 1, env, k);
    }
    if (el.t === 'var' && this.bindable(el.name, env)) return this.walkValueVar(v, el.name, path, i, env, k);
    if ((el.t === 'array' || el.t === 'object') && this.hasUnbound(el, env))
      return this.walkValuePattern(v, el, path, i, env, k);
    return this.walkValueTerm(v, el, path, i, env, k);
  }

  /** walkValue at an unbound variable: iterates over the keys of `v`. */
  private walkValueVar(v: Value, name: string, path: Term[], i: number, env: Env, k: KV): boolean {
    return this.iterate(v, (key, val) => {
      if (name === '_') return this.walkValue(val, path, i + 1, env, k);
      env.set(name, key);
      const r = this.walkValue(val, path, i + 1, env, k);
      env.set(name, undefined);
      return r;
    });
  }

  /** walkValue at a composite pattern with unbound variables: the keys of `v` that match it. */
  private walkValuePattern(v: Value, el: Term, path: Term[], i: number, env: Env, k: KV): boolean {
    return this.iterate(v, (key, val) =>
      this.matchPattern(el, key, env, () => this.walkValue(val, path, i + 1, env, k), false),
    );
  }

  /** walkValue at a key computed by a term. */
  private walkValueTerm(v: Value, el: Term, path: Term[], i: number, env: Env, k: KV): boolean {
    return this.evalTerm(el, env, (key) => {
      const child = index(v, key);
      return child === undefined ? false : this.walkValue(child, path, i + 1, env, k);
    });
  }

  /** Walks the data document (base data merged with virtual documents). */
  private walkData(
    node: PkgNode,
    base: Value | undefined,
    at: string[],
    path: Term[],
    i: number,
    env: Env,
    k: KV,
  ): boolean {
    if (i === path.length) {
      const v = this.materialize(node, base, at);
      return k(v);
    }
    const el = path[i] as Term;
    if (el.t === 'scalar') {
      // as regorus: a number indexing the data document is its decimal string (data.x[1] is data.x["1"])
      if (typeof el.v === 'number') return this.walkDataKey(node, base, at, String(el.v), path, i + 1, env, k);
      if (typeof el.v !== 'string') {
        const child = base === undefined ? undefined : index(base, el.v);
        return child === undefined ? false : this.walkValue(child, path, i + 1, env, k);
      }
      return this.walkDataKey(node, base, at, el.v, path, i + 1, env, k);
    }
    if (el.t === 'var' && this.bindable(el.name, env)) {
      const keys = new Set<string>([...node.children.keys()]);
      for (const [n, g] of node.groups) if (!g.isFunction) keys.add(n);
      if (base instanceof RObject) for (const key of base.str.keys()) keys.add(key);
      for (const key of [...keys].sort()) {
        const name = el.name;
        if (name !== '_') env.set(name, key);
        const r = this.walkDataKey(node, base, at, key, path, i + 1, env, k);
        if (name !== '_') env.set(name, undefined);
        if (r) return true;
      }
      return false;
    }
    return this.walkDataTerm(node, base, at, el, path, i, env, k);
  }

  /** walkData at a key computed by a term. */
  private walkDataTerm(
    node: PkgNode,
    base: Value | undefined,
    at: string[],
    el: Term,
    path: Term[],
    i: number,
    env: Env,
    k: KV,
  ): boolean {
    return this.evalTerm(el, env, (key) => {
      if (typeof key === 'number') return this.walkDataKey(node, base, at, String(key), path, i + 1, env, k);
      if (typeof key !== 'string') {
        const child = base === undefined ? undefined : index(base, key);
        return child === undefined ? false : this.walkValue(child, path, i + 1, env, k);
      }
      return this.walkDataKey(node, base, at, key, path, i + 1, env, k);
    });
  }

  private walkDataKey(
    node: PkgNode,
    base: Value | undefined,
    at: string[],
    key: string,
    path: Term[],
    i: number,
    env: Env,
    k: KV,
  ): boolean {
    if (this.overrides) {
      const here = [...at, key];
      const ov = this.overrides.get(here.join('\u0000'));
      if (ov !== undefined) return this.walkValue(ov, path, i, env, k);
      if (!node.children.has(key)) {
        const saved = this.overrides;
        let v: Value | undefined;
        const g = node.groups.get(key);
        if (g && !g.isFunction) v = this.evalGroup(g);
        else if (!g) v = base instanceof RObject ? base.str.get(key) : undefined;
        else return false;
        // apply deeper overrides (`with data.a.b.c as x` while walking data.a)
        const prefix = here.join('\u0000') + '\u0000';
        for (const [p, val] of saved) {
          if (p.startsWith(prefix)) v = setPath(v, p.slice(prefix.length).split('\u0000'), val);
        }
        return v === undefined ? false : this.walkValue(v, path, i, env, k);
      }
    }
    const g = node.groups.get(key);
    const child = node.children.get(key);
    const baseChild = base instanceof RObject ? base.str.get(key) : undefined;
    // as regorus: where base data and a rule define the same document, the base data answers
    if (g && !g.isFunction && baseChild !== undefined && !(baseChild instanceof RObject))
      return this.walkValue(baseChild, path, i, env, k);
    if (g && !g.isFunction && g.refHead && !child && baseChild === undefined && i < path.length && !this.cache.has(g)) {
      const keys: string[] = [];
      for (let j = i; j < path.length; j++) {
        const p = path[j] as Term;
        if (p.t !== 'scalar' || typeof p.v !== 'string') break;
        keys.push(p.v);
      }
      if (keys.length) return this.walkValue(this.evalRefHeadPartial(g, keys), path, i, env, k);
    }
    if (g && !g.isFunction) {
      let v = this.evalGroup(g);
      if (v === undefined) return baseChild === undefined ? false : this.walkValue(baseChild, path, i, env, k);
      if (baseChild instanceof RObject && v instanceof RObject) v = mergeObjects(v, baseChild);
      if (child) {
        const sub = this.materialize(child, baseChild, [...at, key]);
        if (v instanceof RObject && sub instanceof RObject) v = mergeObjects(v, sub);
      }
      return this.walkValue(v, path, i, env, k);
    }
    if (g && g.isFunction) {
      if ((g.rules[0]?.args ?? g.defaultRule?.args)?.length !== 0) return false;
      const v = this.callUser(g, [], { t: 'scalar', v: null, loc: g.rules[0]?.loc ?? { line: 0, col: 0 } });
      return v === undefined ? false : this.walkValue(v, path, i, env, k);
    }
    if (child) return this.walkData(child, baseChild, [...at, key], path, i, env, k);
    if (baseChild === undefined) return false;
    return this.walkValue(baseChild, path, i, env, k);
  }

  /** Builds the full value of a package node (all rules evaluated) merged with base data. */
  private materialize(node: PkgNode, base: Value | undefined, at: string[]): Value {
    if (node.groups.size === 0 && node.children.size === 0) return base ?? new RObject();
    const out = new RObject();
    if (base instanceof RObject) for (const [key, v] of base.str) out.str.set(key, v);
    for (const [name, child] of node.children) {
      const sub = this.materialize(child, base instanceof RObject ? base.str.get(name) : undefined, [...at, name]);
      out.str.set(name, sub);
    }
    for (const [name, g] of node.groups) {
      if (g.isFunction) continue;
      const ov = this.overrides?.get([...at, name].join('\u0000'));
      let v = ov !== undefined ? ov : this.evalGroup(g);
      if (v === undefined) continue;
      const existing = out.str.get(name);
      // base data wins over a rule of the same name (regorus); objects are merged, base data winning on conflicts
      if (existing !== undefined && !(existing instanceof RObject && v instanceof RObject)) continue;
      if (existing instanceof RObject && v instanceof RObject) v = mergeObjects(v, existing);
      out.str.set(name, v);
    }
    return out;
  }

  iterate(v: Value, f: (key: Value, val: Value) => boolean): boolean {
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) if (f(i, v[i] as Value)) return true;
      return false;
    }
    if (v instanceof RObject) {
      for (const [key, val] of v.entries()) if (f(key, val)) return true;
      return false;
    }
    if (v instanceof RSet) {
      for (const e of v.sorted()) if (f(e, e)) return true;
    }
    return false;
  }

  // ------------------------------------------------------------------ rules

  evalGroup(g: RuleGroup): Value | undefined {
    if (g.constValue !== undefined) return g.constValue;
    const c = this.cache.get(g);
    if (c !== undefined) return c === UNDEF ? undefined : c;
    if (this.inProgress.has(g)) {
      throw new RegoError(
        `${g.rules[0]?.file ?? ''}: recursion detected while evaluating rule ${[...g.pkgPath, g.name].join('.')}`,
        'rego_compile_error',
      );
    }
    this.inProgress.add(g);
    this.enter();
    let v: Value | undefined;
    try {
      v = this.computeGroup(g);
    } finally {
      this.depth--;
      this.inProgress.delete(g);
    }
    this.cache.set(g, v === undefined ? UNDEF : v);
    return v;
  }

  private enter(): void {
    if (++this.depth > this.limits.maxDepth) {
      this.depth--;
      throw new RegoError(`evaluation exceeded the maximum depth of ${this.limits.maxDepth}`, 'eval_limit_error');
    }
  }

  private withScope<T>(rule: Rule, f: () => T): T {
    const s = this.scope;
    const n = this.scopeNode;
    const l = this.locals;
    const rn = this.ruleName;
    this.enterScope(rule);
    try {
      return f();
    } finally {
      this.scope = s;
      this.scopeNode = n;
      this.locals = l;
      this.ruleName = rn;
    }
  }

  private enterScope(rule: Rule): void {
    this.ruleName = rule.name;
    const scope = rule.scope as RuleScope & { node?: PkgNode; root?: PkgNode };
    this.scope = scope;
    if (scope.root !== this.root) {
      scope.node = findNode(this.root, scope.pkgPath) ?? this.root;
      scope.root = this.root;
    }
    this.scopeNode = scope.node as PkgNode;
    this.locals = rule.locals;
  }

  /** The object built by a ref-head rule group (or by the given subset of its rules). */
  private computeRefHead(g: RuleGroup, rules: Rule[], defaults: Rule[]): RObject {
    const name = [...g.pkgPath, g.name].join('.');
    const out = new RObject();
    for (const rule of rules) {
      this.withScope(rule, () =>
        this.evalDefChain(rule, rule.def, new Map(), (env, v) => {
          return this.evalItems(rule.path, 0, [], env, (keys) => {
            insertPath(out, keys, v, rule.kind === 'contains', name);
            return false;
          });
        }),
      );
    }
    for (const d of defaults) {
      this.withScope(d, () => {
        const v = this.firstValue(d.def.value ?? TRUE_TERM, new Map());
        if (v === undefined) return;
        this.evalItems(d.path, 0, [], new Map(), (keys) => {
          let cur: Value | undefined = out;
          for (const key of keys) cur = cur instanceof RObject ? cur.get(key) : undefined;
          if (cur === undefined) insertPath(out, keys, v, false, name);
          return true;
        });
      });
    }
    return out;
  }

  /**
   * `a.b.e` where `a` is a ref-head group: only the rules whose head can produce `a.b.e` are evaluated (so
   * `a.b.d := a.b.e` inside the same group is not a recursion). Cached like whole groups.
   */
  private evalRefHeadPartial(g: RuleGroup, keys: string[]): RObject {
    const id = `${g.id}\u0000${keys.join('\u0000')}`;
    const hit = this.partialCache.get(id);
    if (hit) return hit;
    if (this.partialInProgress.has(id))
      throw new RegoError(
        `${g.rules[0]?.file ?? ''}: recursion detected while evaluating rule ${[...g.pkgPath, g.name, ...keys].join('.')}`,
        'rego_compile_error',
      );
    const fits = (r: Rule): boolean => {
      const n = Math.min(r.path.length, keys.length);
      for (let j = 0; j < n; j++) {
        const p = r.path[j] as Term;
        if (p.t === 'scalar' && p.v !== keys[j]) return false;
      }
      return true;
    };
    this.partialInProgress.add(id);
    this.enter();
    let out: RObject;
    try {
      out = this.computeRefHead(g, g.rules.filter(fits), (g.refDefaults ?? []).filter(fits));
    } finally {
      this.depth--;
      this.partialInProgress.delete(id);
    }
    this.partialCache.set(id, out);
    return out;
  }

  private computeGroup(g: RuleGroup): Value | undefined {
    if (g.refHead) return this.computeRefHead(g, g.rules, g.refDefaults ?? []);
    if (g.kind === 'contains') {
      const out = new RSet();
      for (const rule of g.rules) {
        this.withScope(rule, () =>
          this.evalDefChain(rule, rule.def, new Map(), (_env, v) => {
            out.add(v);
            return false;
          }),
        );
      }
      return out;
    }
    let result: Value | undefined;
    const stopEarly = this.earlyExit && isUniform(g);
    for (const rule of g.rules) {
      if (stopEarly && result !== undefined) break;
      this.withScope(rule, () =>
        this.evalDefChain(rule, rule.def, new Map(), (_env, v) => {
          if (result === undefined) result = v;
          else if (!equal(result, v)) {
            throw new RegoError(
              `${rule.file}:${rule.loc.line}:${rule.loc.col}: complete rules should not produce multiple outputs (rule ${[...g.pkgPath, g.name].join('.')})`,
              'eval_conflict_error',
            );
          }
          return false;
        }),
      );
    }
    if (result === undefined && g.defaultRule) {
      const d = g.defaultRule;
      result = this.defaultValue(d);
    }
    return result;
  }

  private firstValue(t: Term, env: Env): Value | undefined {
    const outer = this.firstOut;
    this.firstOut = undefined;
    try {
      this.evalTerm(t, env, this.takeFirst);
      return this.firstOut;
    } finally {
      this.firstOut = outer;
    }
  }

  /**
   * Evaluates one definition (with its else chain), calling `emit` for every value. When the value term is a
   * constant, evaluation stops at the first successful body (as regorus does), which also bounds print output.
   */
  private evalDefChain(rule: Rule, def: RuleDef, env: Env, emit: (env: Env, v: Value) => boolean): boolean {
    const valueTerm = def.value ?? TRUE_TERM;
    // regorus stops after the first success only for (non-function) rules with a constant value.
    const constant = (!rule.args || this.earlyExit) && isConstTerm(valueTerm) && rule.path.every(isConstTerm);
    let found = false;
    const stop = this.evalBody(def.body, 0, env, () =>
      this.evalTerm(valueTerm, env, (v) => {
        found = true;
        if (emit(env, v)) return true;
        return constant;
      }),
    );
    if (stop && !found) return true;
    if (!found && def.else) return this.evalDefChain(rule, def.else, env, emit);
    return false;
  }

  // ------------------------------------------------------------------ calls

  /** A `with` target as a path of strings, import aliases expanded (`lib.x` with `import data.lib`). */
  private withTargetPath(t: Term): string[] | undefined {
    const path = refPathStrings(t);
    if (!path) return undefined;
    const imp = this.scope.imports.get(path[0] as string);
    if (imp && (imp[0] === 'data' || imp[0] === 'input')) return [...imp, ...path.slice(1)];
    return path;
  }

  /** The function (user function group or builtin) a term names, if it names one. */
  private resolveFunctionRef(t: Term): RuleGroup | Builtin | undefined {
    const name = callName(t);
    const path = this.withTargetPath(t);
    if (path && path[0] === 'data' && path.length > 1) {
      const g = findGroup(this.root, path.slice(1, -1), path[path.length - 1] as string);
      return g?.isFunction ? g : undefined;
    }
    if (name === undefined) return undefined;
    const target = this.resolveCall({ t: 'call', fn: t, name, args: [], loc: t.loc });
    if (target && 'rules' in target && !target.isFunction) return undefined;
    return target;
  }

  private resolveCall(t: Extract<Term, { t: 'call' }>): RuleGroup | Builtin | undefined {
    const fn = t.fn;
    if (fn.t === 'var') {
      const g = this.scopeNode.groups.get(fn.name);
      if (g) return g;
      const imp = this.scope.imports.get(fn.name);
      if (imp && imp[0] === 'data') return findGroup(this.root, imp.slice(1, -1), imp[imp.length - 1] as string);
      return this.builtins.get(fn.name);
    }
    const parts = t.name.split('.');
    if (parts[0] === 'data') {
      return findGroup(this.root, parts.slice(1, -1), parts[parts.length - 1] as string);
    }
    const imp = this.scope.imports.get(parts[0] as string);
    if (imp && imp[0] === 'data') {
      const full = [...imp.slice(1), ...parts.slice(1)];
      return findGroup(this.root, full.slice(0, -1), full[full.length - 1] as string);
    }
    const local = findGroup(this.scopeNode, parts.slice(0, -1), parts[parts.length - 1] as string);
    if (local) return local;
    return this.builtins.get(t.name);
  }

  private evalCall(t: Extract<Term, { t: 'call' }>, env: Env, k: KV, stmt = false): boolean {
    let target = t.target as RuleGroup | Builtin | undefined;
    if (target === undefined) {
      target = this.resolveCall(t);
      if (target === undefined) this.err(`undefined function ${t.name}`, t, 'rego_compile_error');
      t.target = target;
    }
    const ov = this.functionOverrides?.get(target as RuleGroup | Builtin);
    if (ov) {
      if ('value' in ov) return this.evalItems(t.args, 0, [], env, () => k(ov.value));
      // the replacement runs without the overrides (so `with f as g` inside g's own calls cannot loop)
      const saved = this.functionOverrides;
      this.functionOverrides = undefined;
      try {
        return this.evalCall({ ...t, target: ov.fn }, env, k, stmt);
      } finally {
        this.functionOverrides = saved;
      }
    }
    if ('rules' in target) {
      const g = target;
      const arity = g.rules[0]?.args?.length ?? g.defaultRule?.args?.length ?? 0;
      if (t.args.length === arity) {
        return this.evalItems(t.args, 0, [], env, (args) => {
          const v = this.callUser(g, args, t);
          return v === undefined ? false : k(v);
        });
      }
      if (t.args.length === arity + 1 && stmt) {
        return this.evalItems(t.args.slice(0, arity), 0, [], env, (args) => {
          const v = this.callUser(g, args, t);
          return v === undefined ? false : this.matchPattern(t.args[arity] as Term, v, env, () => k(true), false);
        });
      }
      this.err(`function ${t.name} takes ${arity} arguments, got ${t.args.length}`, t, 'rego_compile_error');
    }
    const b = target;
    if (b.name === 'print') return this.evalPrint(t, env, () => k(true));
    const arity = b.arity;
    const nargs = arity < 0 ? t.args.length : arity;
    if (t.args.length !== nargs && !(stmt && t.args.length === nargs + 1)) {
      this.err(
        `\`${t.name}\` expects ${nargs} argument${nargs === 1 ? '' : 's'}, got ${t.args.length}`,
        t,
        'rego_compile_error',
      );
    }
    const out = t.args.length === nargs + 1 && arity >= 0 ? (t.args[nargs] as Term) : undefined;
    return this.evalItems(out ? t.args.slice(0, nargs) : t.args, 0, [], env, (args) => {
      const v = this.invokeBuiltin(b, args, t);
      if (v === undefined) return false;
      if (out) return this.matchPattern(out, v, env, () => k(true), false);
      return k(v);
    });
  }

  callUser(g: RuleGroup, args: Value[], t: Term): Value | undefined {
    this.enter();
    try {
      const stopEarly = this.earlyExit && isUniform(g);
      // call frames (environment, result, continuations) are recycled per function: no allocation per call,
      // and the environment's map stops growing once it has seen the function's variable names
      const pool = (g.framePool ??= []);
      const box = pool.pop() ?? newCallFrame(g);
      box.ctx = this;
      box.t = t;
      box.result = undefined;
      const { env, emit, onBody } = box;
      let first = true;
      try {
        for (const rule of g.rules) {
          if (stopEarly && box.result !== undefined) break;
          const params = rule.args as Term[];
          if (params.length !== args.length) continue;
          if (!first) env.forEach(unbindAll);
          first = false;
          const s = this.scope;
          const n = this.scopeNode;
          const l = this.locals;
          const rn = this.ruleName;
          this.enterScope(rule);
          box.rule = rule;
          const def = rule.def;
          const vt = def.value ?? TRUE_TERM;
          const constDef = !def.else && isConstTerm(vt);
          if (constDef) box.value = constValue(vt) as Value;
          try {
            // fast path: plain variable parameters bind directly
            let plain = true;
            for (let i = 0; i < params.length; i++) {
              const p = params[i] as Term;
              if (p.t === 'var' && env.get(p.name) === undefined) {
                if (p.name !== '_') env.set(p.name, args[i] as Value);
              } else {
                plain = false;
                break;
              }
            }
            if (plain) {
              if (constDef) this.evalBody(def.body, 0, env, onBody);
              else this.evalDefChain(rule, def, env, emit);
            } else {
              env.forEach(unbindAll);
              this.bindParamsThen(params, args, env, box, constDef);
            }
          } finally {
            this.scope = s;
            this.scopeNode = n;
            this.locals = l;
            this.ruleName = rn;
          }
        }
      } finally {
        env.forEach(unbindAll);
        box.ctx = undefined;
        if (pool.length < FRAME_POOL_MAX) pool.push(box);
      }
      // (read before anything else can take the frame from the pool again)
      let result = box.result as Value | undefined;
      box.result = undefined;
      if (result === undefined && g.defaultRule) result = this.defaultValue(g.defaultRule);
      return result;
    } finally {
      this.depth--;
    }
  }

  /** Binds parameter patterns (unifying with the arguments), then evaluates the frame's current definition. */
  private bindParamsThen(params: Term[], args: Value[], env: Env, box: CallFrame, constDef: boolean): void {
    const rule = box.rule;
    const def = rule.def;
    this.bindParams(params, args, 0, env, () =>
      constDef ? this.evalBody(def.body, 0, env, box.onBody) : this.evalDefChain(rule, def, env, box.emit),
    );
  }

  /** The value of a `default` rule. */
  private defaultValue(d: Rule): Value | undefined {
    return this.withScope(d, () => this.firstValue(d.def.value ?? TRUE_TERM, new Map()));
  }

  private bindParams(params: Term[], args: Value[], i: number, env: Env, k: K): boolean {
    if (i === params.length) return k();
    return this.matchPattern(
      params[i] as Term,
      args[i] as Value,
      env,
      () => this.bindParams(params, args, i + 1, env, k),
      false,
    );
  }

  // ------------------------------------------------------------------ operators

  private binop(t: Extract<Term, { t: 'bin' }>, a: Value, b: Value): Value | undefined {
    switch (t.op) {
      case '==':
        return equal(a, b);
      case '!=':
        return !equal(a, b);
      case '<':
        return compare(a, b) < 0;
      case '<=':
        return compare(a, b) <= 0;
      case '>':
        return compare(a, b) > 0;
      case '>=':
        return compare(a, b) >= 0;
    }
    if (a instanceof RSet && b instanceof RSet) {
      if (t.op === '|') return new RSet([...a.map.values(), ...b.map.values()]);
      if (t.op === '&') return new RSet([...a.map.values()].filter((x) => b.has(x)));
      if (t.op === '-') return new RSet([...a.map.values()].filter((x) => !b.has(x)));
    }
    if (typeof a !== 'number' || typeof b !== 'number') {
      this.builtinFailure(
        `operator ${t.op}: operands must be numbers${t.op === '|' || t.op === '&' || t.op === '-' ? ' or sets' : ''}, got ${typeName(a)} and ${typeName(b)}`,
        t,
      );
      return undefined;
    }
    switch (t.op) {
      case '+':
        return a + b;
      case '-':
        return a - b;
      case '*':
        return a * b;
      case '/':
        if (b === 0) {
          this.builtinFailure('divide by zero', t);
          return undefined;
        }
        return a / b;
      case '%':
        // beyond 2^53 a JS number may be an integral float that regorus cannot convert to an integer
        if (!Number.isSafeInteger(a) || !Number.isSafeInteger(b)) {
          this.builtinFailure('modulo on floating-point number', t);
          return undefined;
        }
        if (b === 0) {
          this.builtinFailure('modulo by zero', t);
          return undefined;
        }
        return a % b;
    }
    this.builtinFailure(`unsupported operator ${t.op}`, t);
    return undefined;
  }
}

// -------------------------------------------------------------------- helpers

/** Call frames kept for reuse per function (deeper nesting of the same function allocates). */
const FRAME_POOL_MAX = 4;

/** State of one function call, recycled (see callUser); `ctx` is set only while the call runs. */
interface CallFrame {
  ctx: EvalContext | undefined;
  env: Env;
  result: Value | undefined;
  /** The definition being evaluated, and its value when that is a constant. */
  rule: Rule;
  value: Value;
  t: Term;
  /** Collects a definition's value. */
  emit: (env: Env, v: Value) => boolean;
  /** A success of a constant-valued definition's body; stops the body in decision mode. */
  onBody: K;
}

function newCallFrame(g: RuleGroup): CallFrame {
  const f: CallFrame = {
    ctx: undefined,
    env: new Map(),
    result: undefined,
    rule: g.rules[0] as Rule,
    value: true,
    t: TRUE_TERM,
    emit: (_e, v) => collect(f, v, g),
    onBody: () => {
      collect(f, f.value, g);
      return (f.ctx as EvalContext).earlyExit;
    },
  };
  return f;
}

function collect(f: CallFrame, v: Value, g: RuleGroup): boolean {
  if (f.result === undefined) f.result = v;
  else if (!equal(f.result, v)) {
    throw new RegoError(
      `${f.rule.file}:${f.t.loc.line}:${f.t.loc.col}: functions must not produce multiple outputs for same inputs (function ${[...g.pkgPath, g.name].join('.')})`,
      'eval_conflict_error',
    );
  }
  return false;
}

/** An import's path after `data` as scalar terms (located at the term that uses the import). */
function importPath(imp: string[], t: Term): Term[] {
  return imp.slice(1).map((s) => ({ t: 'scalar', v: s, loc: t.loc }) as Term);
}

/** A continuation taking the items of a set term. */
function asSet(k: KV): (items: Value[]) => boolean {
  return (items) => k(new RSet(items));
}

/** Does the collection hold `x` (under key `kx`, when given)? The `in` operator. */
function contains(c: Value, x: Value, kx: Value | undefined): boolean {
  if (Array.isArray(c)) {
    for (let i = 0; i < c.length; i++) if (equal(c[i] as Value, x) && (kx === undefined || equal(i, kx))) return true;
    return false;
  }
  if (c instanceof RObject) {
    if (kx !== undefined) {
      const v = c.get(kx);
      return v !== undefined && equal(v, x);
    }
    for (const [, val] of c.entries()) if (equal(val, x)) return true;
    return false;
  }
  if (c instanceof RSet) return (kx === undefined || equal(x, kx)) && c.has(x);
  return false;
}

/** The continuation "evaluate the rest of the body from literal i". */
function bodyFrom(ctx: EvalContext, body: Literal[], i: number, env: Env, k: K): K {
  return () => ctx.evalBody(body, i, env, k);
}

/** A value continuation that fails on `false` and otherwise continues with k. */
function unlessFalse(k: K): KV {
  return (v) => (v === false ? false : k());
}

/** A value continuation that binds (declares) the pattern to the value. */
function declareAs(ctx: EvalContext, pattern: Term, env: Env, k: K): KV {
  return (v) => ctx.matchPattern(pattern, v, env, k, true);
}

function unbindAll(v: Value | undefined, name: string, env: Env): void {
  if (v !== undefined) env.set(name, undefined);
}

function boundNames(env: Env): string[] {
  const out: string[] = [];
  for (const [n, v] of env) if (v !== undefined) out.push(n);
  return out;
}

/** Do all definitions of `g` have one and the same constant value (and no else chain)? Cached on the group. */
function isUniform(g: RuleGroup): boolean {
  if (g.uniform !== undefined) return g.uniform;
  let first: Value | undefined;
  let ok = g.rules.length > 0;
  for (const r of g.rules) {
    const vt = r.def.value ?? TRUE_TERM;
    if (r.def.else || !isConstTerm(vt) || !r.path.every(isConstTerm)) {
      ok = false;
      break;
    }
    const v = constValue(vt);
    if (first === undefined) first = v;
    else if (v === undefined || !equal(first, v)) {
      ok = false;
      break;
    }
  }
  g.uniform = ok;
  return ok;
}

function constValue(t: Term): Value | undefined {
  if (t.t === 'scalar') return t.v;
  if (t.t === 'array' || t.t === 'object' || t.t === 'set') return t.cv;
  return undefined;
}

export function isConstTerm(t: Term): boolean {
  if (t.t === 'scalar') return true;
  if (t.t === 'array' || t.t === 'object' || t.t === 'set') return t.cv !== undefined;
  return false;
}

export function index(v: Value, key: Value): Value | undefined {
  if (Array.isArray(v)) {
    if (typeof key !== 'number' || !Number.isInteger(key) || key < 0 || key >= v.length) return undefined;
    return v[key];
  }
  if (v instanceof RObject) return v.get(key);
  if (v instanceof RSet) return v.has(key) ? key : undefined;
  return undefined;
}

export function findNode(root: PkgNode, path: string[]): PkgNode | undefined {
  let n: PkgNode | undefined = root;
  for (const p of path) {
    n = n.children.get(p);
    if (!n) return undefined;
  }
  return n;
}

function findGroup(root: PkgNode, pkg: string[], name: string): RuleGroup | undefined {
  return findNode(root, pkg)?.groups.get(name);
}

function dataAt(data: RObject, path: string[]): Value | undefined {
  let v: Value | undefined = data;
  for (const p of path) {
    if (!(v instanceof RObject)) return undefined;
    v = v.str.get(p);
  }
  return v;
}

function refPathStrings(t: Term): string[] | undefined {
  if (t.t === 'var') return t.name === 'input' || t.name === 'data' ? [t.name] : undefined;
  if (t.t !== 'ref' || t.head.t !== 'var') return undefined;
  const out = [t.head.name];
  for (const p of t.path) {
    if (p.t !== 'scalar' || typeof p.v !== 'string') return undefined;
    out.push(p.v);
  }
  return out;
}

function setPath(root: Value | undefined, path: string[], v: Value): Value {
  if (path.length === 0) return v;
  const o = new RObject();
  if (root instanceof RObject) {
    for (const [k, x] of root.str) o.str.set(k, x);
    if (root.other) for (const [k, x] of root.other.values()) o.set(k, x);
  }
  const [head, ...rest] = path as [string, ...string[]];
  o.set(head, setPath(o.get(head), rest, v));
  return o;
}

function insertPath(out: RObject, keys: Value[], v: Value, contains: boolean, name: string): void {
  let cur = out;
  const n = contains ? keys.length : keys.length - 1;
  for (let i = 0; i < n; i++) {
    const key = keys[i] as Value;
    let next = cur.get(key);
    if (next === undefined) {
      next = i === n - 1 && contains ? new RSet() : new RObject();
      cur.set(key, next);
    }
    if (i === n - 1 && contains) {
      if (!(next instanceof RSet))
        throw new RegoError(
          `rule ${name}: conflicting multi-value and single-value definitions`,
          'eval_conflict_error',
        );
      next.add(v);
      return;
    }
    if (!(next instanceof RObject))
      throw new RegoError(`rule ${name}: object keys must be unique`, 'eval_conflict_error');
    cur = next;
  }
  if (contains) {
    // `p contains x` with no ref path would not be here; keys.length === 0 only for plain sets.
    return;
  }
  const last = keys[keys.length - 1] as Value;
  const old = cur.get(last);
  if (old !== undefined && !equal(old, v)) {
    throw new RegoError(
      `rule ${name}: object keys must be unique (conflicting values for key ${formatValue(last, false)})`,
      'eval_conflict_error',
    );
  }
  cur.set(last, v);
}
