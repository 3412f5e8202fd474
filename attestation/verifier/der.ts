/**
 * A small, strict DER reader: enough to walk X.509 certificates to their extensions and decode the few values the
 * verifiers need (OIDs, INTEGERs, OCTET STRINGs, SEQUENCEs). Every malformed input throws DerError.
 */

export class DerError extends Error {
  constructor(message: string) {
    super(`DER: ${message}`);
    this.name = 'DerError';
  }
}

export const TAG = {
  BOOLEAN: 0x01,
  INTEGER: 0x02,
  BIT_STRING: 0x03,
  OCTET_STRING: 0x04,
  NULL: 0x05,
  OID: 0x06,
  UTF8_STRING: 0x0c,
  PRINTABLE_STRING: 0x13,
  IA5_STRING: 0x16,
  SEQUENCE: 0x30,
  SET: 0x31,
} as const;

export interface Tlv {
  /** The full identifier octet (class, constructed bit and tag number < 31). */
  tag: number;
  /** Offset of the identifier octet in the buffer. */
  start: number;
  /** Offset of the first content byte. */
  contentStart: number;
  /** Offset just past the content. */
  end: number;
  buf: Buffer;
}

export function content(t: Tlv): Buffer {
  return t.buf.subarray(t.contentStart, t.end);
}

/** Read one TLV at `offset`, not reading past `limit`. */
export function readTlv(buf: Buffer, offset = 0, limit = buf.length): Tlv {
  if (offset + 2 > limit) throw new DerError(`truncated header at offset ${offset}`);
  const tag = buf[offset]!;
  if ((tag & 0x1f) === 0x1f) throw new DerError(`high tag number form at offset ${offset} is not supported`);
  let len = buf[offset + 1]!;
  let pos = offset + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0) throw new DerError(`indefinite length at offset ${offset} is not DER`);
    if (n > 4) throw new DerError(`length of ${n} octets at offset ${offset} is too large`);
    if (pos + n > limit) throw new DerError(`truncated length at offset ${offset}`);
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + buf[pos + i]!;
    pos += n;
  }
  if (pos + len > limit) throw new DerError(`value of ${len} bytes at offset ${offset} runs past the end (${limit})`);
  return { tag, start: offset, contentStart: pos, end: pos + len, buf };
}

/** The child TLVs of a constructed TLV. */
export function children(t: Tlv): Tlv[] {
  if ((t.tag & 0x20) === 0) throw new DerError(`tag 0x${t.tag.toString(16)} at offset ${t.start} is not constructed`);
  const out: Tlv[] = [];
  let pos = t.contentStart;
  while (pos < t.end) {
    const c = readTlv(t.buf, pos, t.end);
    out.push(c);
    pos = c.end;
  }
  return out;
}

export function expectTag(t: Tlv, tag: number, what: string): Tlv {
  if (t.tag !== tag)
    throw new DerError(`${what}: expected tag 0x${tag.toString(16)}, got 0x${t.tag.toString(16)} at offset ${t.start}`);
  return t;
}

/** Parse a whole buffer as exactly one TLV. */
export function parseDer(buf: Buffer): Tlv {
  const t = readTlv(buf, 0, buf.length);
  if (t.end !== buf.length) throw new DerError(`${buf.length - t.end} trailing bytes after the top-level value`);
  return t;
}

export function decodeOid(t: Tlv): string {
  expectTag(t, TAG.OID, 'OID');
  const b = content(t);
  if (b.length === 0) throw new DerError('empty OID');
  const parts: number[] = [];
  let v = 0;
  for (let i = 0; i < b.length; i++) {
    v = v * 128 + (b[i]! & 0x7f);
    if (v > Number.MAX_SAFE_INTEGER) throw new DerError('OID arc too large');
    if ((b[i]! & 0x80) === 0) {
      if (parts.length === 0) {
        const first = v < 80 ? Math.floor(v / 40) : 2;
        parts.push(first, v - first * 40);
      } else parts.push(v);
      v = 0;
    } else if (i === b.length - 1) throw new DerError('truncated OID');
  }
  return parts.join('.');
}

/** A non-negative DER INTEGER as a number (throws when negative or above 2^53). */
export function decodeUint(t: Tlv): number {
  expectTag(t, TAG.INTEGER, 'INTEGER');
  const b = content(t);
  if (b.length === 0) throw new DerError('empty INTEGER');
  if (b[0]! & 0x80) throw new DerError('negative INTEGER');
  let v = 0;
  for (const x of b) {
    v = v * 256 + x;
    if (v > Number.MAX_SAFE_INTEGER) throw new DerError('INTEGER too large');
  }
  return v;
}
