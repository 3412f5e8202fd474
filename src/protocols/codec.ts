/**
 * Encode/decode plain objects as protobuf with Go-compatible bytes.
 *
 * - Field names are camelCase (`container_id` → `containerId`), int64/uint64 are JS numbers, enums are numbers,
 *   bytes are Buffers.
 * - Encoding follows proto3 implicit presence like Go: scalar fields equal to their default (0, false, "", empty
 *   bytes, enum 0) and empty repeated/map fields are not written; message fields are written when present even if
 *   empty (a Go `&Status{}` is `0a 00`); `optional`/oneof fields are written whenever set.
 * - Decoding fills proto3 defaults for scalars and repeated fields and leaves absent message fields undefined.
 */
import protobuf from 'protobufjs';
import { lookupMessage } from './loader.js';

export interface MessageCodec<T> {
  /** Full protobuf name, e.g. `containerd.task.v2.ConnectResponse`. */
  readonly typeName: string;
  encode(value: T): Uint8Array;
  decode(bytes: Uint8Array): T;
}

const TO_OBJECT: protobuf.IConversionOptions = {
  longs: Number,
  enums: Number,
  defaults: true,
  arrays: true,
  objects: true,
  oneofs: false,
};

function isDefaultScalar(v: unknown): boolean {
  if (v === null || v === undefined) return true;
  if (v === 0 || v === false || v === '') return true;
  if (v instanceof Uint8Array) return v.length === 0;
  if (typeof v === 'object' && 'low' in (v as object) && 'high' in (v as object)) {
    const l = v as { low: number; high: number };
    return l.low === 0 && l.high === 0;
  }
  return false;
}

/** Remove implicit-presence defaults from a protobufjs message instance (in place), recursively. */
function prune(type: protobuf.Type, msg: Record<string, unknown>): void {
  for (const field of type.fieldsArray) {
    const name = field.name;
    if (!Object.prototype.hasOwnProperty.call(msg, name)) continue;
    const v = msg[name];
    const sub = field.resolvedType instanceof protobuf.Type ? field.resolvedType : undefined;
    if (field.map) {
      const m = v as Record<string, unknown> | null;
      if (!m || Object.keys(m).length === 0) delete msg[name];
      else if (sub) for (const k of Object.keys(m)) prune(sub, m[k] as Record<string, unknown>);
      continue;
    }
    if (field.repeated) {
      const a = v as unknown[] | null;
      if (!a || a.length === 0) delete msg[name];
      else if (sub) for (const e of a) prune(sub, e as Record<string, unknown>);
      continue;
    }
    if (sub) {
      if (v === null || v === undefined) delete msg[name];
      else prune(sub, v as Record<string, unknown>);
      continue;
    }
    if (field.partOf) continue; // explicit presence (proto3 optional / oneof)
    if (isDefaultScalar(v)) delete msg[name];
  }
}

function asBuffer(v: unknown): unknown {
  return v instanceof Uint8Array && !Buffer.isBuffer(v) ? Buffer.from(v.buffer, v.byteOffset, v.byteLength) : v;
}

/**
 * Drop the nulls toObject({defaults:true}) puts on absent message fields and turn bytes into Buffers,
 * recursively.
 */
function stripNulls(type: protobuf.Type, obj: Record<string, unknown>): void {
  for (const field of type.fieldsArray) {
    const name = field.name;
    const v = obj[name];
    const sub = field.resolvedType instanceof protobuf.Type ? field.resolvedType : undefined;
    if (v === null) {
      delete obj[name];
      continue;
    }
    if (field.type === 'bytes' && v !== undefined) {
      if (field.map)
        for (const k of Object.keys(v as object))
          (v as Record<string, unknown>)[k] = asBuffer((v as Record<string, unknown>)[k]);
      else if (field.repeated) obj[name] = (v as unknown[]).map(asBuffer);
      else obj[name] = asBuffer(v);
      continue;
    }
    if (!sub || v === undefined) continue;
    if (field.map)
      for (const k of Object.keys(v as object)) stripNulls(sub, (v as Record<string, Record<string, unknown>>)[k]!);
    else if (field.repeated) for (const e of v as Record<string, unknown>[]) stripNulls(sub, e);
    else stripNulls(sub, v as Record<string, unknown>);
  }
}

/** Encode a plain object as the named message. Throws a TypeError naming the message and field when invalid. */
export function encodeMessage(type: protobuf.Type, value: unknown): Uint8Array {
  const obj = (value ?? {}) as Record<string, unknown>;
  if (typeof obj !== 'object' || Array.isArray(obj)) {
    throw new TypeError(
      `${type.fullName.slice(1)}: expected an object, got ${Array.isArray(obj) ? 'array' : typeof obj}`,
    );
  }
  const problem = type.verify(obj);
  if (problem) throw new TypeError(`${type.fullName.slice(1)}: ${problem}`);
  const msg = type.fromObject(obj) as unknown as Record<string, unknown>;
  prune(type, msg);
  return type.encode(msg).finish();
}

/** Decode bytes as the named message into a plain object with proto3 defaults. */
export function decodeMessage<T>(type: protobuf.Type, bytes: Uint8Array): T {
  // A plain Uint8Array makes protobufjs use its bounds-checking reader (its Buffer reader clamps truncated strings).
  const view = Buffer.isBuffer(bytes) ? new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength) : bytes;
  const msg = type.decode(view);
  const obj = type.toObject(msg, TO_OBJECT) as Record<string, unknown>;
  stripNulls(type, obj);
  return obj as T;
}

const codecs = new Map<string, MessageCodec<unknown>>();

/** The codec for a message by full name (`containerd.events.TaskExit`). Cached. */
export function messageCodec<T = Record<string, unknown>>(typeName: string): MessageCodec<T> {
  const hit = codecs.get(typeName);
  if (hit) return hit as MessageCodec<T>;
  const type = lookupMessage(typeName);
  const c: MessageCodec<T> = {
    typeName,
    encode: (value: T) => encodeMessage(type, value),
    decode: (bytes: Uint8Array) => decodeMessage<T>(type, bytes),
  };
  codecs.set(typeName, c as MessageCodec<unknown>);
  return c;
}
