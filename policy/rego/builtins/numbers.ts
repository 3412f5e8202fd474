/** Number builtins and arithmetic builtins in function form. */
import type { Value } from '../value.js';
import { RSet } from '../value.js';
import { def, fail, int, num, type Builtin } from './types.js';

export const numberBuiltins: Builtin[] = [
  def('abs', 1, ([x]) => Math.abs(num(x as Value))),
  def('ceil', 1, ([x]) => Math.ceil(num(x as Value))),
  def('floor', 1, ([x]) => Math.floor(num(x as Value))),
  def('round', 1, ([x]) => {
    const n = num(x as Value);
    return n < 0 ? -Math.round(-n) : Math.round(n);
  }),
  def('plus', 2, ([a, b]) => num(a as Value) + num(b as Value, 2)),
  def('minus', 2, ([a, b]) => {
    if (a instanceof RSet && b instanceof RSet) return new RSet([...a.map.values()].filter((x) => !b.has(x)));
    return num(a as Value) - num(b as Value, 2);
  }),
  def('mul', 2, ([a, b]) => num(a as Value) * num(b as Value, 2)),
  def('div', 2, ([a, b]) => {
    const d = num(b as Value, 2);
    if (d === 0) fail('divide by zero');
    return num(a as Value) / d;
  }),
  def('rem', 2, ([a, b]) => {
    const d = int(b as Value, 2);
    if (d === 0) fail('modulo by zero');
    return int(a as Value) % d;
  }),
  def('numbers.range', 2, ([a, b]) => {
    const s = int(a as Value);
    const e = int(b as Value, 2);
    const out: number[] = [];
    if (Math.abs(e - s) > 10_000_000) fail('range too large');
    if (s <= e) for (let i = s; i <= e; i++) out.push(i);
    else for (let i = s; i >= e; i--) out.push(i);
    return out;
  }),
  def('numbers.range_step', 3, ([a, b, c]) => {
    const s = int(a as Value);
    const e = int(b as Value, 2);
    const st = int(c as Value, 3);
    if (st <= 0) fail('numbers.range_step: step must be a positive integer');
    const out: number[] = [];
    if (Math.abs(e - s) / st > 10_000_000) fail('range too large');
    if (s <= e) for (let i = s; i <= e; i += st) out.push(i);
    else for (let i = s; i >= e; i -= st) out.push(i);
    return out;
  }),
  def('to_number', 1, ([x]) => {
    if (x === null) return 0;
    if (typeof x === 'boolean') return x ? 1 : 0;
    if (typeof x === 'number') return x;
    if (typeof x === 'string') {
      const s = x.trim();
      if (s !== x || !/^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/.test(s))
        fail(`invalid syntax: could not convert ${JSON.stringify(x)} to a number`);
      return Number(s);
    }
    return fail('operand 1 must be one of {boolean, null, number, string}');
  }),
];
