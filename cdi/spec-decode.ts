/**
 * Strict decoding of a parsed JSON/YAML value into a CdiSpec: unknown fields and wrongly typed values are errors,
 * as with the Go implementation's `UnmarshalStrict`. Which fields exist depends on the compatibility mode.
 */
import { CdiError } from './errors.js';
import type { CdiCompat, CdiSpec } from './types.js';

type FieldType =
  | 'string'
  | 'bool'
  | 'int64'
  | 'uint32'
  | 'int'
  | 'stringList'
  | 'uint32List'
  | 'stringMap'
  | { object: Schema }
  | { list: Schema };

type Schema = Record<string, FieldType>;

function schemas(compat: CdiCompat): Schema {
  const head = compat === 'head';
  const intelRdt: Schema = head
    ? {
        closID: 'string',
        l3CacheSchema: 'string',
        memBwSchema: 'string',
        schemata: 'stringList',
        enableMonitoring: 'bool',
      }
    : { closID: 'string', l3CacheSchema: 'string', memBwSchema: 'string', enableCMT: 'bool', enableMBM: 'bool' };
  const edits: Schema = {
    env: 'stringList',
    deviceNodes: {
      list: {
        path: 'string',
        hostPath: 'string',
        type: 'string',
        major: 'int64',
        minor: 'int64',
        fileMode: 'uint32',
        permissions: 'string',
        uid: 'uint32',
        gid: 'uint32',
      },
    },
    hooks: { list: { hookName: 'string', path: 'string', args: 'stringList', env: 'stringList', timeout: 'int' } },
    mounts: { list: { hostPath: 'string', containerPath: 'string', options: 'stringList', type: 'string' } },
    intelRdt: { object: intelRdt },
    additionalGids: 'uint32List',
  };
  if (head) edits.netDevices = { list: { hostInterfaceName: 'string', name: 'string' } };
  return {
    cdiVersion: 'string',
    kind: 'string',
    annotations: 'stringMap',
    devices: { list: { name: 'string', annotations: 'stringMap', containerEdits: { object: edits } } },
    containerEdits: { object: edits },
  };
}

function typeName(v: unknown): string {
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return 'number';
  if (typeof v === 'boolean') return 'bool';
  if (typeof v === 'string') return 'string';
  return 'object';
}

function fail(where: string, msg: string): never {
  throw new CdiError(`json: ${msg}${where ? ` (at ${where})` : ''}`);
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function decodeInt(v: unknown, where: string, what: string, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v))
    fail(where, `cannot unmarshal ${typeName(v)} into ${where} of type ${what}`);
  if (v < min || v > max) fail(where, `cannot unmarshal number ${v} into ${where} of type ${what}`);
  return v;
}

function decodeValue(t: FieldType, v: unknown, where: string): unknown {
  switch (t) {
    case 'string':
      // YAML scalars that resolve to numbers or booleans are converted for string fields (sigs.k8s.io/yaml does
      // this), so `name: 65` is the device "65".
      if (typeof v === 'number') return goScalarString(v);
      if (typeof v === 'boolean') return String(v);
      if (typeof v !== 'string') fail(where, `cannot unmarshal ${typeName(v)} into ${where} of type string`);
      return v;
    case 'bool':
      if (typeof v !== 'boolean') fail(where, `cannot unmarshal ${typeName(v)} into ${where} of type bool`);
      return v;
    case 'int64':
      return decodeInt(v, where, 'int64', Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER);
    case 'int':
      return decodeInt(v, where, 'int', -(2 ** 31), 2 ** 31 - 1);
    case 'uint32':
      return decodeInt(v, where, 'uint32', 0, 2 ** 32 - 1);
    case 'stringList':
    case 'uint32List': {
      if (!Array.isArray(v)) fail(where, `cannot unmarshal ${typeName(v)} into ${where} of type array`);
      const item = t === 'stringList' ? 'string' : 'uint32';
      return v.map((x, i) => decodeValue(item, x, `${where}[${i}]`));
    }
    case 'stringMap': {
      if (!isPlainObject(v)) fail(where, `cannot unmarshal ${typeName(v)} into ${where} of type map[string]string`);
      const out: Record<string, string> = {};
      for (const [k, x] of Object.entries(v)) out[k] = decodeValue('string', x, `${where}.${k}`) as string;
      return out;
    }
    default:
      if ('object' in t) return decodeObject(t.object, v, where);
      if (!Array.isArray(v)) fail(where, `cannot unmarshal ${typeName(v)} into ${where} of type array`);
      return v.map((x, i) => decodeObject(t.list, x, `${where}[${i}]`));
  }
}

/** Go's formatting of a YAML number converted to a string: integers in decimal, floats as the shortest float32. */
export function goScalarString(v: number): string {
  if (Number.isInteger(v)) return String(v);
  if (!Number.isFinite(v)) return Number.isNaN(v) ? 'NaN' : v > 0 ? '+Inf' : '-Inf';
  const f = Math.fround(v);
  for (let p = 1; p <= 9; p++) {
    const s = f.toPrecision(p);
    if (Math.fround(Number(s)) === f) return String(Number(s));
  }
  return String(f);
}

/** The schema key for `key`: exact, else case-insensitive (Go's encoding/json matches field names that way). */
function schemaKey(schema: Schema, key: string): string | undefined {
  if (key in schema) return key;
  const lower = key.toLowerCase();
  return Object.keys(schema).find((k) => k.toLowerCase() === lower);
}

function decodeObject(schema: Schema, v: unknown, where: string): Record<string, unknown> {
  if (!isPlainObject(v)) fail(where, `cannot unmarshal ${typeName(v)} into ${where || 'spec'} of type object`);
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) {
    const field = schemaKey(schema, k);
    if (field === undefined) fail(where, `unknown field ${JSON.stringify(k)}`);
    if (x === null || x === undefined) continue; // null leaves the zero value, as in Go
    out[field] = decodeValue(schema[field]!, x, where ? `${where}.${field}` : field);
  }
  return out;
}

/**
 * Decodes a parsed document into a CdiSpec. Missing required strings become "" and missing lists become empty, so
 * validation (not decoding) reports them with the upstream messages.
 */
export function decodeSpec(value: unknown, compat: CdiCompat): CdiSpec {
  const raw = decodeObject(schemas(compat), value, '') as Partial<CdiSpec>;
  const devices = (raw.devices ?? []).map((d) => ({
    ...d,
    name: d.name ?? '',
    containerEdits: d.containerEdits ?? {},
  }));
  return {
    ...raw,
    cdiVersion: raw.cdiVersion ?? '',
    kind: raw.kind ?? '',
    devices,
  };
}
