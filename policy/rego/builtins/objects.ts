/** Object builtins, json.filter/remove and json.patch (RFC 6902). */
import { equal, RObject, RSet, type Value } from '../value.js';
import { arr, collection, def, fail, obj, type Builtin } from './types.js';

function copyObj(o: RObject): RObject {
  const out = new RObject();
  for (const [k, v] of o.entries()) out.set(k, v);
  return out;
}

function keySet(v: Value, pos: number): Value[] {
  if (v instanceof RObject) return v.keys();
  return collection(v, pos);
}

function unionObjects(a: RObject, b: RObject): RObject {
  const out = copyObj(a);
  for (const [k, v] of b.entries()) {
    const e = out.get(k);
    out.set(k, e instanceof RObject && v instanceof RObject ? unionObjects(e, v) : v);
  }
  return out;
}

function isSubset(sup: Value, sub: Value): boolean {
  if (sup instanceof RObject && sub instanceof RObject) {
    for (const [k, v] of sub.entries()) {
      const s = sup.get(k);
      if (s === undefined || !isSubset(s, v)) return false;
    }
    return true;
  }
  if (sup instanceof RSet && sub instanceof RSet) return [...sub.map.keys()].every((k) => sup.map.has(k));
  if (Array.isArray(sup) && Array.isArray(sub)) {
    if (sub.length === 0) return true;
    for (let i = 0; i + sub.length <= sup.length; i++) {
      if (sub.every((x, j) => equal(x, sup[i + j] as Value))) return true;
    }
    return false;
  }
  if (sup instanceof RSet && Array.isArray(sub)) return sub.every((x) => sup.has(x));
  return equal(sup, sub);
}

/** Splits "a/b/c" JSON paths (as used by json.filter/remove); arrays of segments are accepted too. */
function paths(v: Value): Value[][] {
  return collection(v, 2).map((p) => {
    if (typeof p === 'string') return p.split('/').filter((s) => s !== '');
    return arr(p, 2);
  });
}

function segIndex(v: Value, seg: Value): Value | undefined {
  if (Array.isArray(v)) {
    const n = typeof seg === 'number' ? seg : Number(seg);
    return Number.isInteger(n) ? v[n] : undefined;
  }
  if (v instanceof RObject) return v.get(seg);
  return undefined;
}

function filterPaths(v: Value, ps: Value[][]): Value {
  if (ps.some((p) => p.length === 0)) return v;
  const groups = new Map<string, { seg: Value; rest: Value[][] }>();
  for (const p of ps) {
    const key = JSON.stringify(p[0]);
    const g = groups.get(key) ?? { seg: p[0] as Value, rest: [] };
    g.rest.push(p.slice(1));
    groups.set(key, g);
  }
  if (v instanceof RObject) {
    const out = new RObject();
    for (const [k, x] of v.entries()) {
      const g = groups.get(JSON.stringify(k));
      if (g) out.set(k, filterPaths(x, g.rest));
    }
    return out;
  }
  if (Array.isArray(v)) {
    const out: Value[] = [];
    v.forEach((x, i) => {
      const g = groups.get(JSON.stringify(String(i))) ?? groups.get(JSON.stringify(i));
      if (g) out.push(filterPaths(x, g.rest));
    });
    return out;
  }
  if (v instanceof RSet) return new RSet(v.sorted().filter((x) => groups.has(JSON.stringify(x))));
  return v;
}

function removePaths(v: Value, ps: Value[][]): Value {
  if (ps.some((p) => p.length === 0)) return undefined as unknown as Value;
  if (v instanceof RObject) {
    const out = new RObject();
    for (const [k, x] of v.entries()) {
      const sub = ps.filter((p) => equal(p[0] as Value, k) || String(p[0]) === k).map((p) => p.slice(1));
      if (sub.length === 0) out.set(k, x);
      else if (!sub.some((p) => p.length === 0)) out.set(k, removePaths(x, sub));
    }
    return out;
  }
  if (Array.isArray(v)) {
    const out: Value[] = [];
    v.forEach((x, i) => {
      const sub = ps.filter((p) => String(p[0]) === String(i)).map((p) => p.slice(1));
      if (sub.length === 0) out.push(x);
      else if (!sub.some((p) => p.length === 0)) out.push(removePaths(x, sub));
    });
    return out;
  }
  return v;
}

// ------------------------------------------------------------------ JSON Patch

function unescapePtr(s: string): string {
  return s.replace(/~1/g, '/').replace(/~0/g, '~');
}

export function parsePointer(p: Value): Value[] {
  if (Array.isArray(p)) return p;
  if (typeof p !== 'string') fail('JSON patch path must be a string or an array');
  if (p === '') return [];
  if (!p.startsWith('/')) fail(`JSON pointer ${JSON.stringify(p)} must start with "/"`);
  return p.slice(1).split('/').map(unescapePtr);
}

function getAt(doc: Value, path: Value[]): Value | undefined {
  let cur: Value | undefined = doc;
  for (const seg of path) {
    if (cur === undefined) return undefined;
    cur = segIndex(cur, seg);
  }
  return cur;
}

/** Returns a copy of `doc` with `f` applied to the container at `path[:-1]`. */
function updateAt(doc: Value, path: Value[], f: (parent: Value, last: Value) => Value): Value {
  if (path.length === 0) fail('JSON patch: cannot modify the document root this way');
  const rec = (cur: Value, i: number): Value => {
    if (i === path.length - 1) return f(cur, path[i] as Value);
    const seg = path[i] as Value;
    const child = segIndex(cur, seg);
    if (child === undefined) fail(`JSON patch: path ${path.map(String).join('/')} does not exist`);
    const nc = rec(child as Value, i + 1);
    if (Array.isArray(cur)) {
      const out = cur.slice();
      out[Number(seg)] = nc;
      return out;
    }
    const o = copyObj(cur as RObject);
    o.set(seg, nc);
    return o;
  };
  return rec(doc, 0);
}

function addOp(doc: Value, path: Value[], value: Value): Value {
  if (path.length === 0) return value;
  return updateAt(doc, path, (parent, last) => {
    if (Array.isArray(parent)) {
      const out = parent.slice();
      if (last === '-') out.push(value);
      else {
        const i = Number(last);
        if (!Number.isInteger(i) || i < 0 || i > parent.length)
          fail(`JSON patch: array index ${String(last)} out of range`);
        out.splice(i, 0, value);
      }
      return out;
    }
    if (parent instanceof RObject) {
      const o = copyObj(parent);
      o.set(last, value);
      return o;
    }
    if (parent instanceof RSet) return new RSet([...parent.map.values(), value]);
    return fail('JSON patch: parent of the target is not a container');
  });
}

function removeOp(doc: Value, path: Value[]): Value {
  return updateAt(doc, path, (parent, last) => {
    if (Array.isArray(parent)) {
      const i = Number(last);
      if (!Number.isInteger(i) || i < 0 || i >= parent.length)
        fail(`JSON patch: cannot remove missing index ${String(last)}`);
      const out = parent.slice();
      out.splice(i, 1);
      return out;
    }
    if (parent instanceof RObject) {
      if (!parent.has(last)) fail(`JSON patch: cannot remove missing key ${JSON.stringify(last)}`);
      const o = copyObj(parent);
      o.delete(last);
      return o;
    }
    return fail('JSON patch: parent of the target is not a container');
  });
}

/** Applies an RFC 6902 patch (array of operation objects) to a value; throws BuiltinError on failure. */
export function applyJsonPatch(doc: Value, patch: Value): Value {
  let cur = doc;
  for (const op of arr(patch, 2)) {
    const o = obj(op, 2);
    const kind = o.get('op');
    const path = parsePointer(o.get('path') ?? fail('JSON patch operation without "path"'));
    switch (kind) {
      case 'add':
        cur = addOp(cur, path, o.get('value') ?? fail('JSON patch "add" without "value"'));
        break;
      case 'remove':
        cur = removeOp(cur, path);
        break;
      case 'replace': {
        if (getAt(cur, path) === undefined) fail('JSON patch "replace": target does not exist');
        const v = o.get('value') ?? fail('JSON patch "replace" without "value"');
        cur = path.length === 0 ? v : addOp(removeOp(cur, path), path, v);
        break;
      }
      case 'move': {
        const from = parsePointer(o.get('from') ?? fail('JSON patch "move" without "from"'));
        const v = getAt(cur, from);
        if (v === undefined) fail('JSON patch "move": source does not exist');
        cur = addOp(removeOp(cur, from), path, v as Value);
        break;
      }
      case 'copy': {
        const from = parsePointer(o.get('from') ?? fail('JSON patch "copy" without "from"'));
        const v = getAt(cur, from);
        if (v === undefined) fail('JSON patch "copy": source does not exist');
        cur = addOp(cur, path, v as Value);
        break;
      }
      case 'test': {
        const v = getAt(cur, path);
        if (v === undefined || !equal(v, o.get('value') ?? null)) fail('JSON patch "test" failed');
        break;
      }
      default:
        fail(`JSON patch: unknown op ${JSON.stringify(kind ?? null)}`);
    }
  }
  return cur;
}

export const objectBuiltins: Builtin[] = [
  def('object.get', 3, ([o, k, d]) => {
    if (Array.isArray(k)) {
      let cur: Value | undefined = o as Value;
      for (const seg of k) {
        if (cur instanceof RObject) cur = cur.get(seg);
        else if (Array.isArray(cur)) cur = typeof seg === 'number' ? cur[seg] : undefined;
        else if (cur instanceof RSet) cur = cur.has(seg) ? seg : undefined;
        else cur = undefined;
        if (cur === undefined) return d;
      }
      return cur;
    }
    const v = obj(o as Value).get(k as Value);
    return v === undefined ? d : v;
  }),
  def('object.keys', 1, ([o]) => new RSet(obj(o as Value).keys())),
  def('object.remove', 2, ([o, ks]) => {
    const out = copyObj(obj(o as Value));
    for (const k of keySet(ks as Value, 2)) out.delete(k);
    return out;
  }),
  def('object.filter', 2, ([o, ks]) => {
    const src = obj(o as Value);
    const out = new RObject();
    for (const k of keySet(ks as Value, 2)) {
      const v = src.get(k);
      if (v !== undefined) out.set(k, v);
    }
    return out;
  }),
  def('object.union', 2, ([a, b]) => unionObjects(obj(a as Value), obj(b as Value, 2))),
  def('object.union_n', 1, ([xs]) =>
    arr(xs as Value).reduce<RObject>((acc, x) => unionObjects(acc, obj(x)), new RObject()),
  ),
  def('object.subset', 2, ([a, b]) => {
    if (!(a instanceof RObject || a instanceof RSet || Array.isArray(a)))
      fail('operand 1 must be an object, set or array');
    return isSubset(a, b as Value);
  }),
  def('json.filter', 2, ([o, ps]) => filterPaths(obj(o as Value), paths(ps as Value))),
  def('json.remove', 2, ([o, ps]) => removePaths(obj(o as Value), paths(ps as Value))),
  // Any patch failure makes json.patch undefined (OPA and regorus do not raise builtin errors here).
  def('json.patch', 2, ([doc, patch]) => {
    try {
      return applyJsonPatch(doc as Value, patch as Value);
    } catch {
      return undefined;
    }
  }),
];
