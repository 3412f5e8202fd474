/** google.protobuf Timestamp and Any helpers (containerd-style Any: type_url is the bare full message name). */
import { messageCodec } from './codec.js';

export interface Timestamp {
  seconds: number;
  nanos: number;
}

export interface Any {
  typeUrl: string;
  value: Uint8Array;
}

export function timestampFromDate(d: Date): Timestamp {
  const ms = d.getTime();
  if (!Number.isFinite(ms)) throw new RangeError('timestampFromDate: invalid Date');
  const seconds = Math.floor(ms / 1000);
  return { seconds, nanos: (ms - seconds * 1000) * 1_000_000 };
}

export function timestampToDate(t: Timestamp | undefined): Date | undefined {
  if (!t) return undefined;
  return new Date(t.seconds * 1000 + Math.floor(t.nanos / 1_000_000));
}

/** Pack a message as Any with type_url = its full name (what containerd's typeurl registry emits for events). */
export function packAny<T>(typeName: string, message: T): Any {
  return { typeUrl: typeName, value: messageCodec<T>(typeName).encode(message) };
}

/** Unpack an Any; the type_url may carry a `type.googleapis.com/`-style prefix. Throws if it is not `typeName`. */
export function unpackAny<T>(any: Any, typeName: string): T {
  const url = any.typeUrl;
  const bare = url.includes('/') ? url.slice(url.lastIndexOf('/') + 1) : url;
  if (bare !== typeName) throw new TypeError(`Any holds "${url}", expected ${typeName}`);
  return messageCodec<T>(typeName).decode(any.value);
}
