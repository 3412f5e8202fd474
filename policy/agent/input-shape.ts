/**
 * Shapes a protobuf message like the Rust agent's serde JSON of the rust-protobuf types: every field present with
 * its proto3 default, absent sub-messages as `null`, enums as integers, 64-bit integers as JSON numbers, bytes as
 * arrays of numbers, proto field names verbatim except `type` → `type_`. Real policies depend on this shape.
 *
 * The protobufjs types must be loaded with `keepCase: true` so that field names are the proto (snake_case) names.
 */
import protobuf from 'protobufjs';

const RUST_KEYWORDS = new Set(['type']);

function fieldKey(name: string): string {
  return RUST_KEYWORDS.has(name) ? `${name}_` : name;
}

function scalarDefault(f: protobuf.Field): unknown {
  switch (f.type) {
    case 'string':
      return '';
    case 'bool':
      return false;
    case 'bytes':
      return [];
    default:
      return 0;
  }
}

function scalar(f: protobuf.Field, v: unknown): unknown {
  if (v === undefined || v === null) return scalarDefault(f);
  if (f.resolvedType instanceof protobuf.Enum) {
    if (typeof v === 'string') {
      const n = f.resolvedType.values[v];
      if (n === undefined) throw new Error(`field ${f.fullName}: unknown enum value ${JSON.stringify(v)}`);
      return n;
    }
    return Number(v);
  }
  if (f.resolvedType instanceof protobuf.Type) return serdeShape(f.resolvedType, v as Record<string, unknown>);
  switch (f.type) {
    case 'bytes':
      if (typeof v === 'string') return Array.from(Buffer.from(v, 'base64'));
      return Array.from(v as Uint8Array);
    case 'int64':
    case 'uint64':
    case 'sint64':
    case 'fixed64':
    case 'sfixed64':
      return typeof v === 'object' && v !== null && 'toNumber' in v
        ? (v as { toNumber(): number }).toNumber()
        : Number(v);
    default:
      return v;
  }
}

/** Converts a message (protobufjs instance or plain object with proto field names) to the serde shape. */
export function serdeShape(
  type: protobuf.Type,
  msg: Record<string, unknown> | null | undefined,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const src = msg ?? {};
  for (const f of type.fieldsArray) {
    f.resolve();
    const raw = src[f.name] ?? src[protobuf.util.camelCase(f.name)];
    const key = fieldKey(f.name);
    if (f.map) {
      const m: Record<string, unknown> = {};
      for (const [k, v] of Object.entries((raw as Record<string, unknown>) ?? {})) m[k] = scalar(f, v);
      out[key] = m;
    } else if (f.repeated) {
      out[key] = ((raw as unknown[]) ?? []).map((v) => scalar(f, v));
    } else if (f.resolvedType instanceof protobuf.Type) {
      out[key] = raw === undefined || raw === null ? null : serdeShape(f.resolvedType, raw as Record<string, unknown>);
    } else {
      out[key] = scalar(f, raw);
    }
  }
  return out;
}
