/**
 * Rego values.
 *
 * Representation: `null`, booleans, numbers (JS doubles: integers are exact within Number.MAX_SAFE_INTEGER; OPA's
 * arbitrary precision is not reproduced beyond that), strings, arrays (JS arrays), {@link RObject} and {@link RSet}.
 * `undefined` (JS) means "undefined" in the Rego sense. Sets and objects keep insertion maps but iterate in OPA
 * sort order (see {@link compare}), so evaluation order and printed output are deterministic.
 */
export type Value = null | boolean | number | string | Value[] | RObject | RSet;

/**
 * Canonical key: equal Rego values have equal keys and different values different keys; used for set membership
 * and non-string object keys. Every encoding is self-delimiting (strings carry their length, numbers end in `;`,
 * composites are bracketed), so a concatenation of keys can be split only one way: no string content, however
 * crafted, can make two different values collide.
 */
export function canon(v: Value): string {
  switch (typeof v) {
    case 'string':
      return '"' + v.length + ':' + v;
    case 'number':
      return '#' + String(v) + ';';
    case 'boolean':
      return v ? 't' : 'f';
  }
  if (v === null) return 'n';
  if (Array.isArray(v)) {
    let s = '[';
    for (const e of v) s += canon(e);
    return s + ']';
  }
  if (v instanceof RSet) {
    let s = '<';
    for (const e of v.sorted()) s += canon(e);
    return s + '>';
  }
  let s = '{';
  for (const [k, val] of v.entries()) s += canon(k) + canon(val);
  return s + '}';
}

export class RSet {
  readonly map = new Map<string, Value>();
  private sortedCache: Value[] | undefined;
  constructor(items?: Iterable<Value>) {
    if (items) for (const i of items) this.add(i);
  }
  add(v: Value): void {
    const k = canon(v);
    if (!this.map.has(k)) {
      this.map.set(k, v);
      this.sortedCache = undefined;
    }
  }
  has(v: Value): boolean {
    return this.map.has(canon(v));
  }
  get size(): number {
    return this.map.size;
  }
  /** Elements in OPA order. */
  sorted(): Value[] {
    if (!this.sortedCache) this.sortedCache = [...this.map.values()].sort(compare);
    return this.sortedCache;
  }
}

export class RObject {
  /** String-keyed entries (the common case). */
  readonly str = new Map<string, Value>();
  /** Non-string keys by canonical key. */
  other: Map<string, [Value, Value]> | undefined;
  private sortedCache: Array<[Value, Value]> | undefined;
  get size(): number {
    return this.str.size + (this.other ? this.other.size : 0);
  }
  get(k: Value): Value | undefined {
    if (typeof k === 'string') return this.str.get(k);
    return this.other?.get(canon(k))?.[1];
  }
  set(k: Value, v: Value): void {
    this.sortedCache = undefined;
    if (typeof k === 'string') this.str.set(k, v);
    else (this.other ??= new Map()).set(canon(k), [k, v]);
  }
  delete(k: Value): void {
    this.sortedCache = undefined;
    if (typeof k === 'string') this.str.delete(k);
    else this.other?.delete(canon(k));
  }
  has(k: Value): boolean {
    return this.get(k) !== undefined;
  }
  /** Entries in OPA key order. */
  entries(): Array<[Value, Value]> {
    if (!this.sortedCache) {
      const out: Array<[Value, Value]> = [];
      const keys = [...this.str.keys()].sort(cmpStr);
      for (const k of keys) out.push([k, this.str.get(k) as Value]);
      if (this.other && this.other.size) {
        const o = [...this.other.values()];
        out.push(...o);
        out.sort((a, b) => compare(a[0], b[0]));
      }
      this.sortedCache = out;
    }
    return this.sortedCache;
  }
  keys(): Value[] {
    return this.entries().map((e) => e[0]);
  }
}

function cmpStr(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export function typeRank(v: Value): number {
  switch (typeof v) {
    case 'boolean':
      return 1;
    case 'number':
      return 2;
    case 'string':
      return 3;
  }
  if (v === null) return 0;
  if (Array.isArray(v)) return 4;
  // regorus order (the agent's engine): sets before objects (OPA puts objects first)
  if (v instanceof RObject) return 6;
  return 5;
}

/** OPA total order: null < boolean < number < string < array < object < set. */
export function compare(a: Value, b: Value): number {
  const ra = typeRank(a);
  const rb = typeRank(b);
  if (ra !== rb) return ra - rb;
  switch (ra) {
    case 0:
      return 0;
    case 1:
      return a === b ? 0 : a ? 1 : -1;
    case 2:
      return (a as number) < (b as number) ? -1 : (a as number) > (b as number) ? 1 : 0;
    case 3:
      return cmpStr(a as string, b as string);
    case 4: {
      const x = a as Value[];
      const y = b as Value[];
      const n = Math.min(x.length, y.length);
      for (let i = 0; i < n; i++) {
        const c = compare(x[i] as Value, y[i] as Value);
        if (c) return c;
      }
      return x.length - y.length;
    }
    case 6: {
      const x = (a as RObject).entries();
      const y = (b as RObject).entries();
      const n = Math.min(x.length, y.length);
      for (let i = 0; i < n; i++) {
        const e1 = x[i] as [Value, Value];
        const e2 = y[i] as [Value, Value];
        let c = compare(e1[0], e2[0]);
        if (c) return c;
        c = compare(e1[1], e2[1]);
        if (c) return c;
      }
      return x.length - y.length;
    }
    default: {
      const x = (a as RSet).sorted();
      const y = (b as RSet).sorted();
      const n = Math.min(x.length, y.length);
      for (let i = 0; i < n; i++) {
        const c = compare(x[i] as Value, y[i] as Value);
        if (c) return c;
      }
      return x.length - y.length;
    }
  }
}

export function equal(a: Value, b: Value): boolean {
  if (a === b) return true;
  const ta = typeof a;
  if (ta !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!equal(a[i] as Value, b[i] as Value)) return false;
    return true;
  }
  if (a instanceof RObject) {
    if (!(b instanceof RObject) || a.size !== b.size) return false;
    const as = a.str;
    const bs = b.str;
    for (const k of as.keys()) {
      const w = bs.get(k);
      if (w === undefined || !equal(as.get(k) as Value, w)) return false;
    }
    if (a.other) {
      for (const [ck, [, v]] of a.other) {
        const w = b.other?.get(ck);
        if (!w || !equal(v, w[1])) return false;
      }
    }
    return true;
  }
  if (a instanceof RSet) {
    if (!(b instanceof RSet) || a.size !== b.size) return false;
    for (const k of a.map.keys()) if (!b.map.has(k)) return false;
    return true;
  }
  return false;
}

/** Converts parsed JSON (or any plain JS data) into Rego values. */
export function fromJS(x: unknown): Value {
  if (x === null || x === undefined) return null;
  switch (typeof x) {
    case 'string':
    case 'boolean':
      return x;
    case 'number':
      return x;
    case 'bigint':
      return Number(x);
    case 'object': {
      if (Array.isArray(x)) return x.map(fromJS);
      if (x instanceof RObject || x instanceof RSet) return x;
      if (x instanceof Uint8Array) return Array.from(x);
      const o = new RObject();
      for (const k of Object.keys(x)) {
        const v = (x as Record<string, unknown>)[k];
        if (v !== undefined) o.str.set(k, fromJS(v));
      }
      return o;
    }
    default:
      throw new TypeError(`cannot convert ${typeof x} to a Rego value`);
  }
}

/**
 * Converts a Rego value to plain JSON-compatible JS: sets become arrays sorted in OPA order, objects with
 * non-string keys get their keys rendered as JSON text (like OPA's JSON encoding).
 */
export function toJS(v: Value): unknown {
  if (v === null || typeof v !== 'object') return v;
  if (Array.isArray(v)) return v.map(toJS);
  if (v instanceof RSet) return v.sorted().map(toJS);
  const out: Record<string, unknown> = {};
  for (const [k, val] of v.entries()) out[typeof k === 'string' ? k : toJSON(k)] = toJS(val);
  return out;
}

export function toJSON(v: Value): string {
  return JSON.stringify(toJS(v));
}

export function typeName(v: Value): string {
  switch (typeRank(v)) {
    case 0:
      return 'null';
    case 1:
      return 'boolean';
    case 2:
      return 'number';
    case 3:
      return 'string';
    case 4:
      return 'array';
    case 5:
      return 'set';
    default:
      return 'object';
  }
}

function fmtNumber(n: number): string {
  if (Number.isInteger(n) || !Number.isFinite(n)) return String(n);
  return String(n);
}

/**
 * Formats a value the way print() does: strings inside composites are quoted, separators are ", " and ": ",
 * object keys are sorted, sets are shown as `{a, b}` (as regorus prints them).
 */
export function formatValue(v: Value, top = true): string {
  if (v === null) return 'null';
  switch (typeof v) {
    case 'string':
      return top ? v : JSON.stringify(v);
    case 'number':
      return fmtNumber(v);
    case 'boolean':
      return String(v);
  }
  if (Array.isArray(v)) return '[' + v.map((e) => formatValue(e, false)).join(', ') + ']';
  if (v instanceof RSet)
    return (
      '{' +
      v
        .sorted()
        .map((e) => formatValue(e, false))
        .join(', ') +
      '}'
    );
  const parts: string[] = [];
  for (const [k, val] of v.entries()) {
    parts.push(
      (typeof k === 'string' ? JSON.stringify(k) : JSON.stringify(formatValue(k, false))) +
        ': ' +
        formatValue(val, false),
    );
  }
  return '{' + parts.join(', ') + '}';
}

export function isTruthy(v: Value | undefined): boolean {
  return v !== undefined && v !== false;
}

/** `a` deep-merged with `b`: keys of both; where both hold objects they are merged, otherwise `b`'s value wins. */
export function mergeObjects(a: RObject, b: RObject): RObject {
  const o = new RObject();
  for (const [k, v] of a.entries()) o.set(k, v);
  for (const [k, v] of b.entries()) {
    const e = o.get(k);
    o.set(k, e instanceof RObject && v instanceof RObject ? mergeObjects(e, v) : v);
  }
  return o;
}
