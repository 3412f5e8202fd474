/** Aggregate builtins: count, sum, product, max, min, sort. */
import { compare, RObject, RSet, type Value } from '../value.js';
import { collection, def, fail, num, type Builtin } from './types.js';

export const aggregateBuiltins: Builtin[] = [
  def('count', 1, ([x]) => {
    if (typeof x === 'string') return [...x].length;
    if (Array.isArray(x)) return x.length;
    if (x instanceof RObject || x instanceof RSet) return x.size;
    return fail('operand 1 must be one of {array, object, set, string}');
  }),
  def('sum', 1, ([x]) => collection(x as Value).reduce<number>((a, v) => a + num(v), 0)),
  def('product', 1, ([x]) => collection(x as Value).reduce<number>((a, v) => a * num(v), 1)),
  def('max', 1, ([x]) => {
    const c = collection(x as Value);
    if (!c.length) return undefined;
    return c.reduce((a, v) => (compare(v, a) > 0 ? v : a));
  }),
  def('min', 1, ([x]) => {
    const c = collection(x as Value);
    if (!c.length) return undefined;
    return c.reduce((a, v) => (compare(v, a) < 0 ? v : a));
  }),
  def('sort', 1, ([x]) => [...collection(x as Value)].sort(compare)),
];
