/**
 * Policy input for a Kata agent request: the JSON the Rust agent gives the policy engine, i.e. serde's rendering
 * of the rust-protobuf request structs (`#[serde(default)]`):
 *
 * - field names are the .proto names verbatim (`container_id`, `OCI`, `hwAddr`, `IPAddresses`), except Rust
 *   keywords, which rust-protobuf suffixes with `_` (`type` → `type_`);
 * - every field is present: scalars with their proto3 default (`""`, `0`, `false`), repeated fields as arrays,
 *   maps as objects, absent sub-messages as `null`;
 * - enums are integers, 64-bit integers are JSON numbers, `bytes` are arrays of numbers.
 *
 * The conversion is driven by protobufjs reflection. Our protos are loaded by src/protocols with
 * `keepCase: false` (camelCase field names), which loses the proto spelling (`hw_addr` and `hwAddr` both become
 * `hwAddr`), so the proto names are taken from a second, keepCase, parse of the Kata protos, matched by field
 * number.
 *
 * CopyFileRequest is special in the agent: the policy sees a pre-processed PolicyCopyFileRequest (see
 * `toPolicyCopyFileRequest`), never the file contents; `requestPolicyInput` does that.
 */
import path from 'node:path';
import protobuf from 'protobufjs';
import { AGENT_SERVICE, lookupMessage, lookupService, protoDir } from '../protocols/index.js';
import { toPolicyCopyFileRequest } from '../../policy/agent/index.js';

/** The Kata agent protos, parsed once with the original field spelling. */
const KATA_PROTOS = ['kata/agent.proto'];

/** Rust keywords; rust-protobuf appends `_` to fields with these names. */
const RUST_KEYWORDS = new Set(
  (
    'as async await break const continue crate dyn else enum extern false fn for if impl in let loop match mod move ' +
    'mut pub ref return self static struct super trait true type unsafe use where while abstract become box do ' +
    'final macro override priv typeof unsized virtual yield try'
  ).split(' '),
);

let keepCaseRoot: protobuf.Root | undefined;

function protoNamesRoot(): protobuf.Root {
  if (keepCaseRoot) return keepCaseRoot;
  const dir = protoDir();
  const root = new protobuf.Root();
  root.resolvePath = (_origin: string, target: string): string =>
    path.isAbsolute(target) ? target : path.join(dir, target);
  root.loadSync(
    KATA_PROTOS.map((f) => path.join(dir, f)),
    { keepCase: true },
  );
  root.resolveAll();
  keepCaseRoot = root;
  return root;
}

/** One field of a message with its serde key. */
interface FieldPlan {
  field: protobuf.Field;
  /** camelCase name used by our decoded messages. */
  name: string;
  /** serde key in the policy input. */
  key: string;
}

const plans = new Map<protobuf.Type, FieldPlan[]>();

function planOf(type: protobuf.Type): FieldPlan[] {
  let plan = plans.get(type);
  if (plan) return plan;
  let original: protobuf.Type | undefined;
  try {
    const t = protoNamesRoot().lookup(type.fullName.slice(1));
    if (t instanceof protobuf.Type) original = t;
  } catch {
    original = undefined;
  }
  plan = type.fieldsArray.map((field) => {
    field.resolve();
    const proto = original?.fieldsById[field.id]?.name ?? field.name;
    return { field, name: field.name, key: RUST_KEYWORDS.has(proto) ? `${proto}_` : proto };
  });
  plans.set(type, plan);
  return plan;
}

const INT64_TYPES = new Set(['int64', 'uint64', 'sint64', 'fixed64', 'sfixed64']);

function isLong(v: unknown): v is { toNumber(): number } {
  return typeof v === 'object' && v !== null && typeof (v as { toNumber?: unknown }).toNumber === 'function';
}

function scalarDefault(f: protobuf.Field): unknown {
  if (f.resolvedType instanceof protobuf.Enum) return 0;
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

function where(f: protobuf.Field): string {
  return f.fullName.startsWith('.') ? f.fullName.slice(1) : f.fullName;
}

function convertValue(f: protobuf.Field, v: unknown): unknown {
  const rt = f.resolvedType;
  if (rt instanceof protobuf.Type) {
    if (v === undefined || v === null) return null;
    if (typeof v !== 'object') throw new TypeError(`${where(f)}: expected a ${rt.name} message, got ${typeof v}`);
    return toPolicyInput(rt, v as Record<string, unknown>);
  }
  if (v === undefined || v === null) return scalarDefault(f);
  if (rt instanceof protobuf.Enum) {
    if (typeof v === 'number') return v;
    if (typeof v === 'string') {
      const n = rt.values[v];
      if (n === undefined) throw new TypeError(`${where(f)}: unknown ${rt.name} value ${JSON.stringify(v)}`);
      return n;
    }
    throw new TypeError(`${where(f)}: expected a ${rt.name} enum value, got ${typeof v}`);
  }
  if (f.type === 'bytes') {
    if (v instanceof Uint8Array) return Array.from(v);
    if (typeof v === 'string') return Array.from(Buffer.from(v, 'base64'));
    if (Array.isArray(v)) return v.map(Number);
    throw new TypeError(`${where(f)}: expected bytes, got ${typeof v}`);
  }
  if (INT64_TYPES.has(f.type)) {
    if (isLong(v)) return v.toNumber();
    if (typeof v === 'bigint' || typeof v === 'string') return Number(v);
    return v;
  }
  return v;
}

/**
 * Converts a decoded message (a protobufjs Message instance or a plain object with camelCase field names, as
 * src/protocols decodes them) into the serde JSON shape the policy expects.
 */
export function toPolicyInput(
  type: protobuf.Type,
  msg: Record<string, unknown> | null | undefined,
): Record<string, unknown> {
  const src = msg ?? {};
  const out: Record<string, unknown> = {};
  for (const { field, name, key } of planOf(type)) {
    const raw = src[name];
    if (field.map) {
      const m: Record<string, unknown> = {};
      if (raw !== undefined && raw !== null) {
        if (typeof raw !== 'object') throw new TypeError(`${where(field)}: expected a map, got ${typeof raw}`);
        const entries = raw instanceof Map ? [...(raw as Map<unknown, unknown>)] : Object.entries(raw);
        for (const [k, v] of entries) m[String(k)] = convertValue(field, v);
      }
      out[key] = m;
    } else if (field.repeated) {
      if (raw !== undefined && raw !== null && !Array.isArray(raw))
        throw new TypeError(`${where(field)}: expected a list, got ${typeof raw}`);
      out[key] = ((raw as unknown[] | undefined) ?? []).map((v) => convertValue(field, v));
    } else {
      out[key] = convertValue(field, raw);
    }
  }
  return out;
}

/**
 * The inverse of `toPolicyInput`: a serde-shaped JSON object (e.g. a line of the agent's policy log) to a plain
 * object with camelCase names that `type.fromObject` accepts. Keys the message does not have are returned in
 * `unknownKeys` (dotted paths) rather than silently dropped.
 */
export function fromPolicyInput(
  type: protobuf.Type,
  json: Record<string, unknown>,
  at = '',
  unknownKeys: string[] = [],
): { object: Record<string, unknown>; unknownKeys: string[] } {
  const byKey = new Map(planOf(type).map((p) => [p.key, p]));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(json)) {
    const p = byKey.get(k);
    const here = at ? `${at}.${k}` : k;
    if (!p) {
      unknownKeys.push(here);
      continue;
    }
    if (v === null || v === undefined) continue;
    const rt = p.field.resolvedType;
    const conv = (x: unknown, i: string): unknown =>
      rt instanceof protobuf.Type ? fromPolicyInput(rt, x as Record<string, unknown>, i, unknownKeys).object : x;
    if (p.field.map) {
      const m: Record<string, unknown> = {};
      for (const [mk, mv] of Object.entries(v as Record<string, unknown>)) m[mk] = conv(mv, `${here}.${mk}`);
      out[p.name] = m;
    } else if (p.field.repeated) {
      out[p.name] = (v as unknown[]).map((x, i) => conv(x, `${here}[${i}]`));
    } else if (p.field.type === 'bytes' && Array.isArray(v)) {
      out[p.name] = Uint8Array.from(v as number[]);
    } else {
      out[p.name] = conv(v, here);
    }
  }
  return { object: out, unknownKeys };
}

/**
 * The policy entry point of an AgentService method: its request message name (`ReadStdout` and `ReadStderr` →
 * `ReadStreamRequest`, `MemAgentMemcgSet` → `MemAgentMemcgConfig`, `CreateContainer` → `CreateContainerRequest`).
 */
export function policyEntryPoint(method: string): string {
  const m = lookupService(AGENT_SERVICE).methods[method];
  if (!m) throw new Error(`${AGENT_SERVICE} has no method ${JSON.stringify(method)}`);
  const t = m.requestType;
  return t.slice(t.lastIndexOf('.') + 1);
}

/** The Kata agent message type of a policy entry point (`CreateContainerRequest`, `MemAgentMemcgConfig`, ...). */
export function requestType(requestName: string): protobuf.Type {
  return lookupMessage(`grpc.${requestName}`);
}

/**
 * The policy input for a request as the Rust agent builds it: the serde shape of the message, except for
 * CopyFileRequest, which becomes a PolicyCopyFileRequest (file type from the mode bits, symlink target from
 * `data`, no file contents). Throws (naming the request and field) when the message does not fit its type.
 */
export function requestPolicyInput(requestName: string, request: object): Record<string, unknown> {
  const type = requestType(requestName);
  const shaped = toPolicyInput(type, request as Record<string, unknown>);
  if (requestName === 'CopyFileRequest') {
    const src = request as Record<string, unknown>;
    const data = src['data'];
    return {
      ...toPolicyCopyFileRequest({
        path: shaped['path'] as string,
        file_size: shaped['file_size'] as number,
        file_mode: shaped['file_mode'] as number,
        dir_mode: shaped['dir_mode'] as number,
        uid: shaped['uid'] as number,
        gid: shaped['gid'] as number,
        offset: shaped['offset'] as number,
        data: data instanceof Uint8Array ? data : ((shaped['data'] as number[] | undefined) ?? []),
      }),
    };
  }
  return shaped;
}
