/** Sets, types, units and trace builtins. */
import { RObject, RSet, typeName, type Value } from '../value.js';
import { def, fail, set, str, type Builtin } from './types.js';

const UNITS: Record<string, number> = {
  '': 1,
  m: 1e-3,
  k: 1e3,
  K: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
  ki: 2 ** 10,
  Ki: 2 ** 10,
  mi: 2 ** 20,
  Mi: 2 ** 20,
  gi: 2 ** 30,
  Gi: 2 ** 30,
  ti: 2 ** 40,
  Ti: 2 ** 40,
  pi: 2 ** 50,
  Pi: 2 ** 50,
  ei: 2 ** 60,
  Ei: 2 ** 60,
};

function parseUnits(s: string, bytes: boolean): number {
  let x = s.replace(/"/g, '').trim();
  if (bytes) x = x.replace(/[bB]$/, '');
  const m = /^([+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)\s*([a-zA-Z]*)$/.exec(x);
  if (!m) fail(`could not parse ${JSON.stringify(s)} as a quantity`);
  let unit = (m as RegExpExecArray)[2] as string;
  if (bytes) {
    const lower = unit.toLowerCase();
    unit = lower.endsWith('i') ? lower[0]!.toUpperCase() + 'i' : lower === 'k' ? 'k' : lower.toUpperCase();
    if (unit === 'm' || unit === 'M') unit = 'M';
  } else if (unit === 'm') {
    unit = 'm';
  }
  const mult = UNITS[unit];
  if (mult === undefined) fail(`unknown unit ${JSON.stringify((m as RegExpExecArray)[2])}`);
  const v = Number((m as RegExpExecArray)[1]) * (mult as number);
  return bytes ? Math.round(v) : v;
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
