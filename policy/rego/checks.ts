/**
 * Compile-time checks of a rule, run when a module is added (as regorus and OPA reject these before evaluation):
 * - a variable declared twice in the same body (`x := 1; x := 2`, `some x in ...` after `x := ...`, `:=` on a
 *   function parameter);
 * - destructuring of two literals that can never match: array vs object, arrays of different lengths, objects
 *   with different constant key sets.
 */
import type { Literal, Rule, RuleDef, Term } from './ast.js';
import { RegoError } from './errors.js';
import { formatValue } from './value.js';

function fail(file: string, loc: { line: number; col: number }, msg: string): never {
  throw new RegoError(`${file}:${loc.line}:${loc.col}: ${msg}`, 'rego_compile_error');
}

/** Variables a destructuring pattern declares (`_` excluded). */
function patternVars(t: Term, out: string[]): void {
  switch (t.t) {
    case 'var':
      if (t.name !== '_') out.push(t.name);
      break;
    case 'array':
      for (const i of t.items) patternVars(i, out);
      break;
    case 'object':
      for (const [, v] of t.items) patternVars(v, out);
      break;
  }
}

function hasWildcard(t: Term): boolean {
  if (t.t === 'var') return t.name === '_';
  if (t.t === 'array') return t.items.some(hasWildcard);
  if (t.t === 'object') return t.items.some(([, v]) => hasWildcard(v));
  return false;
}

function constKey(t: Term): string | undefined {
  return t.t === 'scalar' ? formatValue(t.v, false) : undefined;
}

/** Two literal patterns that can never unify. */
function checkLiteralPair(file: string, l: Term, r: Term, loc: { line: number; col: number }): void {
  const composite = (t: Term): boolean => t.t === 'array' || t.t === 'object';
  if (!composite(l) || !composite(r)) return;
  if (l.t !== r.t)
    fail(
      file,
      loc,
      'incompatible destructuring patterns: both sides must be arrays or objects with matching structure',
    );
  if (l.t === 'array' && r.t === 'array') {
    if (l.items.length !== r.items.length)
      fail(file, loc, `mismatch in number of array elements: ${l.items.length} vs ${r.items.length}`);
    l.items.forEach((x, i) => checkLiteralPair(file, x, r.items[i] as Term, loc));
    return;
  }
  if (l.t === 'object' && r.t === 'object') {
    const lk = l.items.map(([k]) => constKey(k));
    const rk = r.items.map(([k]) => constKey(k));
    if (lk.some((k) => k === undefined) || rk.some((k) => k === undefined)) return;
    const a = [...(lk as string[])].sort();
    const b = [...(rk as string[])].sort();
    if (a.join('\0') !== b.join('\0'))
      fail(file, loc, `object literal keys mismatch. Expected keys [${a.join(', ')}] got [${b.join(', ')}].`);
  }
}

function checkTerm(file: string, t: Term, isGlobal: IsGlobal): void {
  switch (t.t) {
    case 'arraycompr':
    case 'setcompr':
      checkTerm(file, t.head, isGlobal);
      checkBody(file, t.body, new Map(), isGlobal);
      break;
    case 'objcompr':
      checkTerm(file, t.key, isGlobal);
      checkTerm(file, t.value, isGlobal);
      checkBody(file, t.body, new Map(), isGlobal);
      break;
    case 'array':
    case 'set':
      for (const i of t.items) checkTerm(file, i, isGlobal);
      break;
    case 'object':
      for (const [k, v] of t.items) {
        checkTerm(file, k, isGlobal);
        checkTerm(file, v, isGlobal);
      }
      break;
    case 'call':
      for (const a of t.args) checkTerm(file, a, isGlobal);
      break;
    case 'bin':
      checkTerm(file, t.l, isGlobal);
      checkTerm(file, t.r, isGlobal);
      break;
    case 'ref':
      checkTerm(file, t.head, isGlobal);
      for (const p of t.path) checkTerm(file, p, isGlobal);
      break;
    case 'member':
      if (t.key) checkTerm(file, t.key, isGlobal);
      checkTerm(file, t.val, isGlobal);
      checkTerm(file, t.coll, isGlobal);
      break;
  }
}

/** Names of rules, imports, input and data: never local variables. */
type IsGlobal = (name: string) => boolean;

/** `declared` maps a variable to the line that declared it; nested bodies start with their own scope. */
function checkBody(file: string, body: Literal[], declared: Map<string, number>, isGlobal: IsGlobal): void {
  const declare = (names: string[], loc: { line: number; col: number }): void => {
    for (const n of names) {
      const at = declared.get(n);
      if (at !== undefined)
        fail(file, loc, `var \`${n}\` used before definition below (declared again after line ${at})`);
      declared.set(n, loc.line);
    }
  };
  for (const lit of body) {
    for (const w of lit.with) {
      checkTerm(file, w.target, isGlobal);
      checkTerm(file, w.value, isGlobal);
    }
    switch (lit.k) {
      case 'assign': {
        checkTerm(file, lit.r, isGlobal);
        checkLiteralPair(file, lit.l, lit.r, lit.loc);
        const names: string[] = [];
        patternVars(lit.l, names);
        if (names.length === 0 && !hasWildcard(lit.l))
          fail(file, lit.loc, 'assignment operator := requires left-hand side to have bindable variables');
        declare(names, lit.loc);
        break;
      }
      case 'unify': {
        checkTerm(file, lit.l, isGlobal);
        checkTerm(file, lit.r, isGlobal);
        checkLiteralPair(file, lit.l, lit.r, lit.loc);
        // `x = ...` binds a new local x: a later `x :=` / `some x in` would redeclare it
        if (lit.neg) break;
        const names: string[] = [];
        patternVars(lit.l, names);
        patternVars(lit.r, names);
        for (const n of names) if (!isGlobal(n) && !declared.has(n)) declared.set(n, lit.loc.line);
        break;
      }
      case 'somein': {
        checkTerm(file, lit.coll, isGlobal);
        const names: string[] = [];
        if (lit.key) patternVars(lit.key, names);
        patternVars(lit.val, names);
        declare(names, lit.loc);
        break;
      }
      case 'every':
        checkTerm(file, lit.coll, isGlobal);
        checkBody(file, lit.body, new Map(), isGlobal);
        break;
      case 'expr':
        checkTerm(file, lit.term, isGlobal);
        break;
      case 'some':
        break;
    }
  }
}

function checkDef(file: string, def: RuleDef, params: Map<string, number>, isGlobal: IsGlobal): void {
  checkBody(file, def.body, new Map(params), isGlobal);
  if (def.value) checkTerm(file, def.value, isGlobal);
  if (def.else) checkDef(file, def.else, params, isGlobal);
}

/** Throws a rego_compile_error naming the file and line for the problems listed above. */
export function checkRule(rule: Rule, file: string, isGlobal: IsGlobal = () => false): void {
  const params = new Map<string, number>();
  for (const a of rule.args ?? []) {
    const names: string[] = [];
    patternVars(a, names);
    for (const n of names) params.set(n, a.loc.line);
  }
  checkDef(file, rule.def, params, isGlobal);
}
