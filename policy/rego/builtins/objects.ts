/** Object builtins, json.filter/remove and json.patch (RFC 6902). */
import { equal, formatValue, RObject, RSet, toJS, type Value } from '../value.js';
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

/**
 * json.filter with regorus semantics: array elements are selected by their decimal index string only, set
 * members by value (and filtered further when the path goes on).
 */
function filterPaths(v: Value, ps: Value[][]): Value {
  if (ps.some((p) => p.length === 0)) return v;
  const key = (x: Value): string => formatValue(x, false);
  const groups = new Map<string, { seg: Value; rest: Value[][] }>();
  for (const p of ps) {
    const k = key(p[0] as Value);
    const g = groups.get(k) ?? { seg: p[0] as Value, rest: [] };
    g.rest.push(p.slice(1));
    groups.set(k, g);
  }
  if (v instanceof RObject) {
    const out = new RObject();
    for (const [k, x] of v.entries()) {
      const g = groups.get(key(k));
      if (g) out.set(k, filterPaths(x, g.rest));
    }
    return out;
  }
  if (Array.isArray(v)) {
    const out: Value[] = [];
    v.forEach((x, i) => {
      const g = groups.get(key(String(i)));
      if (g) out.push(filterPaths(x, g.rest));
    });
    return out;
  }
  if (v instanceof RSet) {
    const out = new RSet();
    for (const x of v.sorted()) {
      const g = groups.get(key(x));
      if (g) out.add(filterPaths(x, g.rest));
    }
    return out;
  }
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

const ARRAY_INDEX = /^(0|[1-9][0-9]*)$/;

/**
 * Child of a container addressed by one patch path segment: array indices are integers (or their canonical
 * decimal strings, no leading zeros), object keys are any value, set members are addressed by value.
 */
function patchChild(v: Value, seg: Value): Value | undefined {
  if (Array.isArray(v)) {
    const i = arrayIndex(seg);
    return i === undefined ? undefined : v[i];
  }
  if (v instanceof RObject) return v.get(seg);
  if (v instanceof RSet) return v.has(seg) ? seg : undefined;
  return undefined;
}

function arrayIndex(seg: Value): number | undefined {
  if (typeof seg === 'number') return Number.isInteger(seg) && seg >= 0 ? seg : undefined;
  if (typeof seg === 'string' && ARRAY_INDEX.test(seg)) return Number(seg);
  return undefined;
}

function getAt(doc: Value | undefined, path: Value[]): Value | undefined {
  let cur: Value | undefined = doc;
  for (const seg of path) {
    if (cur === undefined) return undefined;
    cur = patchChild(cur, seg);
  }
  return cur;
}

function showPath(path: Value[]): string {
  return '/' + path.map((p) => (typeof p === 'string' ? p : JSON.stringify(toJS(p)))).join('/');
}

/** Returns a copy of `doc` with `f` applied to the container at `path[:-1]`. */
function updateAt(doc: Value | undefined, path: Value[], f: (parent: Value, last: Value) => Value): Value {
  if (doc === undefined) fail('JSON patch: the document was removed');
  const rec = (cur: Value, i: number): Value => {
    if (i === path.length - 1) return f(cur, path[i] as Value);
    const seg = path[i] as Value;
    const child = patchChild(cur, seg);
    if (child === undefined) fail(`JSON patch: path ${showPath(path)} does not exist`);
    const nc = rec(child as Value, i + 1);
    if (Array.isArray(cur)) {
      const out = cur.slice();
      out[arrayIndex(seg) as number] = nc;
      return out;
    }
    if (cur instanceof RSet) {
      // a set member changed: it is a different member now
      const out = new RSet([...cur.map.values()].filter((x) => !equal(x, seg)));
      out.add(nc);
      return out;
    }
    const o = copyObj(cur as RObject);
    o.set(seg, nc);
    return o;
  };
  return rec(doc as Value, 0);
}

function addOp(doc: Value | undefined, path: Value[], value: Value): Value {
  if (path.length === 0) return value;
  return updateAt(doc, path, (parent, last) => {
    if (Array.isArray(parent)) {
      const out = parent.slice();
      if (last === '-') out.push(value);
      else {
        const i = arrayIndex(last);
        if (i === undefined || i > parent.length) fail(`JSON patch: array index ${String(last)} out of range`);
        out.splice(i as number, 0, value);
      }
      return out;
    }
    if (parent instanceof RObject) {
      const o = copyObj(parent);
      o.set(last, value);
      return o;
    }
    if (parent instanceof RSet) {
      // a set member is addressed by value: adding under a key means adding that very value
      if (!equal(last, value)) fail('JSON patch: a set member can only be added under its own value');
      return new RSet([...parent.map.values(), value]);
    }
    return fail('JSON patch: parent of the target is not a container');
  });
}

/** Removes the target; removing the root leaves no document (undefined). */
function removeOp(doc: Value | undefined, path: Value[]): Value | undefined {
  if (path.length === 0) {
    if (doc === undefined) fail('JSON patch: the document was removed');
    return undefined;
  }
  return updateAt(doc, path, (parent, last) => {
    if (Array.isArray(parent)) {
      const i = arrayIndex(last);
      if (i === undefined || i >= parent.length) fail(`JSON patch: cannot remove missing index ${String(last)}`);
      const out = parent.slice();
      out.splice(i as number, 1);
      return out;
    }
    if (parent instanceof RObject) {
      if (!parent.has(last)) fail(`JSON patch: cannot remove missing key ${JSON.stringify(toJS(last))}`);
      const o = copyObj(parent);
      o.delete(last);
      return o;
    }
    if (parent instanceof RSet) {
      if (!parent.has(last)) fail(`JSON patch: cannot remove missing set member ${JSON.stringify(toJS(last))}`);
      return new RSet([...parent.map.values()].filter((x) => !equal(x, last)));
    }
    return fail('JSON patch: parent of the target is not a container');
  });
}

/**
 * Applies an RFC 6902 patch (array of operation objects) to a value; throws BuiltinError on failure. Returns
 * undefined when the patch removed the document root and did not add a new one.
 */
export function applyJsonPatch(doc: Value, patch: Value): Value | undefined {
  let cur: Value | undefined = doc;
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
        fail(`JSON patch: unknown op ${JSON.stringify(toJS(kind ?? null))}`);
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
