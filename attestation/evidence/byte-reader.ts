/**
 * Bounds-checked little-endian reads over a byte buffer. Every read that would run past the end throws an
 * MalformedEvidenceError naming the evidence kind and field, so truncated blobs become clear errors, never crashes.
 */
import { MalformedEvidenceError } from './errors.js';

export class ByteReader {
  constructor(
    readonly buf: Uint8Array,
    readonly kind: string,
  ) {}

  get length(): number {
    return this.buf.length;
  }

  need(offset: number, size: number, field: string): void {
    if (
      !Number.isInteger(offset) ||
      !Number.isInteger(size) ||
      offset < 0 ||
      size < 0 ||
      offset + size > this.buf.length
    ) {
      throw new MalformedEvidenceError(
        this.kind,
        `needs ${size} bytes at offset ${offset} but the evidence is only ${this.buf.length} bytes long`,
        field,
      );
    }
  }

  bytes(offset: number, size: number, field: string): Buffer {
    this.need(offset, size, field);
    return Buffer.from(this.buf.buffer, this.buf.byteOffset + offset, size);
  }

  u8(offset: number, field: string): number {
    this.need(offset, 1, field);
    return this.buf[offset]!;
  }

  u16(offset: number, field: string): number {
    this.need(offset, 2, field);
    return this.buf[offset]! | (this.buf[offset + 1]! << 8);
  }

  u24(offset: number, field: string): number {
    this.need(offset, 3, field);
    return this.buf[offset]! | (this.buf[offset + 1]! << 8) | (this.buf[offset + 2]! << 16);
  }

  u32(offset: number, field: string): number {
    this.need(offset, 4, field);
    return (
      (this.buf[offset]! | (this.buf[offset + 1]! << 8) | (this.buf[offset + 2]! << 16)) +
      this.buf[offset + 3]! * 0x1000000
    );
  }

  u64(offset: number, field: string): bigint {
    this.need(offset, 8, field);
    return Buffer.from(this.buf.buffer, this.buf.byteOffset + offset, 8).readBigUInt64LE(0);
  }
}

/** Lower-case hex of some bytes. */
export function hex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.length).toString('hex');
}

/** True when every byte is zero. */
export function isAllZero(b: Uint8Array): boolean {
  for (const x of b) if (x !== 0) return false;
  return true;
}
