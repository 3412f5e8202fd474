/** Array builtins. */
import type { Value } from '../value.js';
import { arr, def, num, type Builtin } from './types.js';

export const arrayBuiltins: Builtin[] = [
  def('array.concat', 2, ([a, b]) => [...arr(a as Value), ...arr(b as Value, 2)]),
  def('array.reverse', 1, ([a]) => [...arr(a as Value)].reverse()),
  def('array.slice', 3, ([a, s, e]) => {
    const xs = arr(a as Value);
    let start = num(s as Value, 2);
    let stop = num(e as Value, 3);
    // regorus: non-integral bounds make the call undefined
    if (!Number.isInteger(start) || !Number.isInteger(stop)) return undefined;
    if (start < 0) start = 0;
    if (stop > xs.length) stop = xs.length;
    if (start >= stop) return [];
    return xs.slice(start, stop);
  }),
];
