/**
 * Body scheduling: OPA and regorus evaluate the literals of a body in an order where every variable is bound
 * before a literal needs its value (`v = p + 1; p = 2` runs `p = 2` first). Bodies that are already in such an
 * order (nearly all real ones) are left exactly as written, so print output keeps source order; a body is
 * reordered only when source order is unsafe and some order makes every literal safe.
 */
import type { Literal, Term } from './ast.js';

interface Usage {
  /** Local variables whose value the literal reads. */
  needs: Set<string>;
  /** Local variables the literal can bind. */
  outputs: Set<string>;
  /** For `a = b`: the pattern variables of each side (one side must be bound, or be a non-pattern). */
  sides?: [Set<string>, Set<string>];
}

type IsLocal = (name: string) => boolean;

/** Variables in pattern positions (what `=`/`:=` can bind) vs value positions (what must be bound). */
function walk(t: Term, pattern: boolean, isLocal: IsLocal, u: { needs: Set<string>; outputs: Set<string> }): void {
  switch (t.t) {
    case 'var':
      if (t.name === '_' || !isLocal(t.name)) return;
      (pattern ? u.outputs : u.needs).add(t.name);
      return;
    case 'ref':
      walk(t.head, false, isLocal, u);
      // `x[i]` with i unbound iterates and binds i
      for (const p of t.path) walk(p, p.t === 'var', isLocal, u);
      return;
    case 'array':
      for (const i of t.items) walk(i, pattern, isLocal, u);
      return;
    case 'object':
      for (const [k, v] of t.items) {
        walk(k, false, isLocal, u);
        walk(v, pattern, isLocal, u);
      }
      return;
    case 'set':
      for (const i of t.items) walk(i, false, isLocal, u);
      return;
    case 'call':
      for (const a of t.args) walk(a, false, isLocal, u);
      return;
    case 'bin':
      walk(t.l, false, isLocal, u);
      walk(t.r, false, isLocal, u);
      return;
    case 'neg':
      walk(t.x, false, isLocal, u);
      return;
    case 'member':
      if (t.key) walk(t.key, false, isLocal, u);
      walk(t.val, false, isLocal, u);
      walk(t.coll, false, isLocal, u);
      return;
    case 'arraycompr':
    case 'setcompr': {
      // a comprehension binds nothing outside; every variable it mentions is read
      const inner = { needs: u.needs, outputs: u.needs };
      walk(t.head, false, isLocal, inner);
      for (const l of t.body) bodyVars(l, isLocal, inner);
      return;
    }
    case 'objcompr': {
      const inner = { needs: u.needs, outputs: u.needs };
      walk(t.key, false, isLocal, inner);
      walk(t.value, false, isLocal, inner);
      for (const l of t.body) bodyVars(l, isLocal, inner);
      return;
    }
    case 'scalar':
      return;
  }
}

/** Every variable a nested body mentions counts as needed (filtered later to the outer body's outputs). */
function bodyVars(l: Literal, isLocal: IsLocal, u: { needs: Set<string>; outputs: Set<string> }): void {
  const inner = { needs: u.needs, outputs: u.needs };
  for (const w of l.with) walk(w.value, false, isLocal, inner);
  switch (l.k) {
    case 'expr':
      walk(l.term, false, isLocal, inner);
      return;
    case 'unify':
    case 'assign':
      walk(l.l, false, isLocal, inner);
      walk(l.r, false, isLocal, inner);
      return;
    case 'somein':
    case 'every':
      if (l.key) walk(l.key, false, isLocal, inner);
      walk(l.val, false, isLocal, inner);
      walk(l.coll, false, isLocal, inner);
      if (l.k === 'every') for (const b of l.body) bodyVars(b, isLocal, inner);
      return;
    case 'some':
      return;
  }
}

function usage(l: Literal, isLocal: IsLocal): Usage {
  const u = { needs: new Set<string>(), outputs: new Set<string>() };
  for (const w of l.with) walk(w.value, false, isLocal, u);
  if (l.neg) {
    // a negated literal binds nothing; every variable it shares with the body must be bound first
    const all = { needs: u.needs, outputs: u.needs };
    bodyVars({ ...l, neg: false, with: [] } as Literal, isLocal, all);
    return u;
  }
  switch (l.k) {
    case 'expr':
      walk(l.term, false, isLocal, u);
      return u;
    case 'assign':
      walk(l.l, true, isLocal, u);
      walk(l.r, false, isLocal, u);
      return u;
    case 'unify': {
      const left = { needs: u.needs, outputs: new Set<string>() };
      const right = { needs: u.needs, outputs: new Set<string>() };
      walk(l.l, true, isLocal, left);
      walk(l.r, true, isLocal, right);
      for (const v of left.outputs) u.outputs.add(v);
      for (const v of right.outputs) u.outputs.add(v);
      return { ...u, sides: [left.outputs, right.outputs] };
    }
    case 'somein':
      if (l.key) walk(l.key, true, isLocal, u);
      walk(l.val, true, isLocal, u);
      walk(l.coll, false, isLocal, u);
      return u;
    case 'every':
      walk(l.coll, false, isLocal, u);
      for (const b of l.body) bodyVars(b, isLocal, { needs: u.needs, outputs: u.needs });
      return u;
    case 'some':
      return u;
  }
}

function ready(u: Usage, bound: Set<string>, bindable: Set<string>): boolean {
  for (const v of u.needs) if (bindable.has(v) && !bound.has(v)) return false;
  if (u.sides) {
    const [a, b] = u.sides;
    const allBound = (s: Set<string>): boolean => [...s].every((v) => bound.has(v) || !bindable.has(v));
    if (!allBound(a) && !allBound(b)) return false;
  }
  return true;
}

/**
 * Returns a safe order for `body`, or undefined when source order is fine (or no order is safe: evaluation then
 * reports the unbound variable as usual). `bound` holds the variables bound when the body starts.
 */
export function scheduleBody(body: Literal[], isLocal: IsLocal, bound: Iterable<string>): Literal[] | undefined {
  if (body.length < 2) return undefined;
  const uses = body.map((l) => usage(l, isLocal));
  // only variables that some literal of this body binds are scheduled; the rest are left to evaluation
  const bindable = new Set<string>();
  for (const u of uses) for (const v of u.outputs) bindable.add(v);
  const start = new Set(bound);
  for (const v of start) bindable.delete(v);
  if (bindable.size === 0) return undefined;
  let inOrder = true;
  const b1 = new Set(start);
  for (const u of uses) {
    if (!ready(u, b1, bindable)) {
      inOrder = false;
      break;
    }
    for (const v of u.outputs) b1.add(v);
  }
  if (inOrder) return undefined;
  const done = new Array<boolean>(body.length).fill(false);
  const order: Literal[] = [];
  const b2 = new Set(start);
  while (order.length < body.length) {
    let picked = -1;
    for (let i = 0; i < body.length; i++) {
      if (!done[i] && ready(uses[i] as Usage, b2, bindable)) {
        picked = i;
        break;
      }
    }
    if (picked < 0) return undefined;
    done[picked] = true;
    order.push(body[picked] as Literal);
    for (const v of (uses[picked] as Usage).outputs) b2.add(v);
  }
  return order;
}
