/**
 * ttrpc framing: a 10-byte header (length u32 BE, stream id u32 BE, type u8, flags u8) and a payload of at most
 * 4 MiB. `FrameParser` is a streaming parser that copes with partial reads and with oversized frames, whose
 * payload it discards while reporting them, so the connection can keep going (as containerd/ttrpc does).
 */

export const HEADER_LENGTH = 10;
/** Largest payload either side accepts (containerd/ttrpc `messageLengthMax`). */
export const MAX_MESSAGE_LENGTH = 4 << 20;

export const MessageType = {
  Request: 0x1,
  Response: 0x2,
  Data: 0x3,
} as const;
export type MessageType = (typeof MessageType)[keyof typeof MessageType];

export const Flags = {
  RemoteClosed: 0x1,
  RemoteOpen: 0x2,
  NoData: 0x4,
} as const;

export interface Frame {
  streamId: number;
  type: number;
  flags: number;
  payload: Buffer;
}

/** The exact status message containerd/ttrpc uses for oversized messages. */
export function oversizeMessage(length: number): string {
  return `message length ${length} exceed maximum message size of ${MAX_MESSAGE_LENGTH}`;
}

/** Encode one frame. Throws a RangeError when the payload is over the limit or the header fields are out of range. */
export function encodeFrame(streamId: number, type: number, flags: number, payload: Uint8Array): Buffer {
  if (!Number.isInteger(streamId) || streamId < 0 || streamId > 0xffffffff) {
    throw new RangeError(`ttrpc stream id must be a uint32, got ${streamId}`);
  }
  if (!Number.isInteger(type) || type < 0 || type > 0xff)
    throw new RangeError(`ttrpc message type must be a byte, got ${type}`);
  if (!Number.isInteger(flags) || flags < 0 || flags > 0xff)
    throw new RangeError(`ttrpc flags must be a byte, got ${flags}`);
  if (payload.length > MAX_MESSAGE_LENGTH) throw new RangeError(oversizeMessage(payload.length));
  const buf = Buffer.allocUnsafe(HEADER_LENGTH + payload.length);
  buf.writeUInt32BE(payload.length, 0);
  buf.writeUInt32BE(streamId, 4);
  buf.writeUInt8(type, 8);
  buf.writeUInt8(flags, 9);
  buf.set(payload, HEADER_LENGTH);
  return buf;
}

export interface OversizedFrame {
  streamId: number;
  type: number;
  flags: number;
  length: number;
}

export interface FrameSink {
  frame(f: Frame): void;
  /** A header announced more than MAX_MESSAGE_LENGTH bytes; its payload is being discarded. */
  oversized(f: OversizedFrame): void;
}

/** Incremental frame parser: feed it chunks in arrival order. */
export class FrameParser {
  private chunks: Buffer[] = [];
  private buffered = 0;
  private discard = 0;

  constructor(private readonly sink: FrameSink) {}

  /** Bytes received but not yet part of a complete frame. */
  get pending(): number {
    return this.buffered;
  }

  push(chunk: Buffer): void {
    if (this.discard > 0) {
      const skip = Math.min(this.discard, chunk.length);
      this.discard -= skip;
      chunk = chunk.subarray(skip);
      if (chunk.length === 0) return;
    }
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    this.drain();
  }

  private take(n: number): Buffer {
    const all = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks, this.buffered);
    const out = all.subarray(0, n);
    const rest = all.subarray(n);
    this.chunks = rest.length > 0 ? [rest] : [];
    this.buffered = rest.length;
    return out;
  }

  private peekHeader(): Buffer {
    if (this.chunks[0]!.length >= HEADER_LENGTH) return this.chunks[0]!.subarray(0, HEADER_LENGTH);
    const all = Buffer.concat(this.chunks, this.buffered);
    this.chunks = [all];
    return all.subarray(0, HEADER_LENGTH);
  }

  private drain(): void {
    while (this.buffered >= HEADER_LENGTH) {
      const h = this.peekHeader();
      const length = h.readUInt32BE(0);
      const streamId = h.readUInt32BE(4);
      const type = h.readUInt8(8);
      const flags = h.readUInt8(9);
      if (length > MAX_MESSAGE_LENGTH) {
        this.take(HEADER_LENGTH);
        const skip = Math.min(length, this.buffered);
        this.take(skip);
        this.discard = length - skip;
        this.sink.oversized({ streamId, type, flags, length });
        continue;
      }
      if (this.buffered < HEADER_LENGTH + length) return;
      this.take(HEADER_LENGTH);
      // copy so the payload does not pin a large shared buffer
      const payload = Buffer.from(this.take(length));
      this.sink.frame({ streamId, type, flags, payload });
    }
  }
}
