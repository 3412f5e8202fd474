/** Bitwise builtins with exact integer semantics (BigInt), as OPA's big-int implementation. */
import type { Value } from '../value.js';
import { def, fail, int, type Builtin } from './types.js';

function big(v: Value, pos: number): bigint {
  return BigInt(int(v, pos));
}
function out(b: bigint): number {
  const n = Number(b);
  if (!Number.isSafeInteger(n)) fail('result exceeds the exact integer range');
  return n;
}

export const bitsBuiltins: Builtin[] = [
  def('bits.and', 2, ([a, b]) => out(big(a as Value, 1) & big(b as Value, 2))),
  def('bits.or', 2, ([a, b]) => out(big(a as Value, 1) | big(b as Value, 2))),
  def('bits.xor', 2, ([a, b]) => out(big(a as Value, 1) ^ big(b as Value, 2))),
  def('bits.negate', 1, ([a]) => out(~big(a as Value, 1))),
  def('bits.lsh', 2, ([a, b]) => {
    const s = big(b as Value, 2);
    if (s < 0n) fail('operand 2 must be an unsigned integer');
    return out(big(a as Value, 1) << s);
  }),
  def('bits.rsh', 2, ([a, b]) => {
    const s = big(b as Value, 2);
    if (s < 0n) fail('operand 2 must be an unsigned integer');
    return out(big(a as Value, 1) >> s);
  }),
];
