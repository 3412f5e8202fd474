/** Array builtins. */
import type { Value } from '../value.js';
import { arr, def, int, type Builtin } from './types.js';

export const arrayBuiltins: Builtin[] = [
  def('array.concat', 2, ([a, b]) => [...arr(a as Value), ...arr(b as Value, 2)]),
  def('array.reverse', 1, ([a]) => [...arr(a as Value)].reverse()),
  def('array.slice', 3, ([a, s, e]) => {
    const xs = arr(a as Value);
    let start = int(s as Value, 2);
    let stop = int(e as Value, 3);
    if (start < 0) start = 0;
    if (stop > xs.length) stop = xs.length;
    if (start >= stop) return [];
    return xs.slice(start, stop);
  }),
];
