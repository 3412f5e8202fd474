/** Fitting expected values to a fixed-size hardware field: zero-pad at the end when shorter, truncate when longer. */
export function regularize(value: Uint8Array, size: number): Buffer {
  const out = Buffer.alloc(size);
  Buffer.from(value.buffer, value.byteOffset, Math.min(value.length, size)).copy(out);
  return out;
}

/** Short hex for reasons: the first and last 4 bytes. */
export function shortHex(b: Uint8Array): string {
  const h = Buffer.from(b).toString('hex');
  return h.length <= 20 ? h : `${h.slice(0, 8)}…${h.slice(-8)}`;
}
