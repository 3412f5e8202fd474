/** Sets, types, units and trace builtins. */
import { RObject, RSet, typeName, type Value } from '../value.js';
import { def, fail, set, str, type Builtin } from './types.js';

/** Decimal SI suffixes of units.parse (case-sensitive: "m" is milli, "M" mega), as regorus accepts them. */
const SI: Record<string, number> = {
  Q: 1e30,
  R: 1e27,
  Y: 1e24,
  Z: 1e21,
  E: 1e18,
  e: 1e18,
  P: 1e15,
  p: 1e15,
  T: 1e12,
  t: 1e12,
  G: 1e9,
  g: 1e9,
  M: 1e6,
  K: 1e3,
  k: 1e3,
  h: 1e2,
  da: 1e1,
  d: 1e-1,
  c: 1e-2,
  m: 1e-3,
  μ: 1e-6,
  n: 1e-9,
  f: 1e-15,
  a: 1e-18,
  z: 1e-21,
  y: 1e-24,
  r: 1e-27,
  q: 1e-30,
};
/** Binary prefixes (case-insensitive, followed by "i"). */
const BINARY: Record<string, number> = { k: 10, m: 20, g: 30, t: 40, p: 50, e: 60, z: 70, y: 80 };
/** Decimal prefixes of units.parse_bytes (case-insensitive). */
const BYTES_SI: Record<string, number> = {
  q: 1e30,
  r: 1e27,
  y: 1e24,
  z: 1e21,
  e: 1e18,
  p: 1e15,
  t: 1e12,
  g: 1e9,
  m: 1e6,
  k: 1e3,
};

/**
 * units.parse / units.parse_bytes with regorus semantics: surrounding double quotes are ignored, spaces are an
 * error, an unknown suffix makes the call undefined.
 */
function parseUnits(s: string, bytes: boolean): number | undefined {
  let x = s;
  if (x.length >= 2 && x.startsWith('"') && x.endsWith('"')) x = x.slice(1, -1);
  if (/\s/.test(x)) fail('spaces not allowed in resource string');
  const m = /^([+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)(.*)$/su.exec(x);
  if (!m) fail(`could not parse ${JSON.stringify(s)} as a quantity`);
  const n = Number((m as RegExpExecArray)[1]);
  let unit = (m as RegExpExecArray)[2] as string;
  if (unit === '') return n;
  if (bytes) {
    if (/^[a-z]ib?$/i.test(unit)) {
      const p = BINARY[(unit[0] as string).toLowerCase()];
      return p === undefined ? undefined : n * 2 ** p;
    }
    if (/b$/i.test(unit)) unit = unit.slice(0, -1);
    const mult = BYTES_SI[unit.toLowerCase()];
    return mult === undefined ? undefined : Math.round(n * mult);
  }
  if (/^[a-z]i$/i.test(unit)) {
    const p = BINARY[(unit[0] as string).toLowerCase()];
    return p === undefined ? undefined : n * 2 ** p;
  }
  const mult = SI[unit];
  return mult === undefined ? undefined : n * mult;
}

export const miscBuiltins: Builtin[] = [
  def('intersection', 1, ([xs]) => {
    const sets = set(xs as Value)
      .sorted()
      .map((s) => set(s));
    if (sets.length === 0) return new RSet();
    const [first, ...rest] = sets as [RSet, ...RSet[]];
    return new RSet([...first.map.values()].filter((x) => rest.every((s) => s.has(x))));
  }),
  def('union', 1, ([xs]) => {
    const out = new RSet();
    for (const s of set(xs as Value).sorted()) for (const x of set(s).map.values()) out.add(x);
    return out;
  }),
  def('is_number', 1, ([x]) => typeof x === 'number'),
  def('is_string', 1, ([x]) => typeof x === 'string'),
  def('is_boolean', 1, ([x]) => typeof x === 'boolean'),
  def('is_array', 1, ([x]) => Array.isArray(x)),
  def('is_set', 1, ([x]) => x instanceof RSet),
  def('is_object', 1, ([x]) => x instanceof RObject),
  def('is_null', 1, ([x]) => x === null),
  def('type_name', 1, ([x]) => typeName(x as Value)),
  def('units.parse', 1, ([s]) => parseUnits(str(s as Value), false)),
  def('units.parse_bytes', 1, ([s]) => parseUnits(str(s as Value), true)),
  def('trace', 1, ([s], ctx) => {
    ctx.prints.push({ file: 'trace', line: 0, parts: str(s as Value) });
    return true;
  }),
  def('print', -1, () => true),
];
