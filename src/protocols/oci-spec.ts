/**
 * OCI runtime spec JSON (config.json) ↔ the Kata agent's `grpc.Spec` protobuf rendering (oci.proto), by reflection
 * over the loaded message types. The JSON key of a field is its proto name with a lower-case first letter, except for
 * the few upstream names below. JSON keys the proto does not have (e.g. `process.user.umask`, `linux.netDevices`)
 * are dropped, as the Kata runtime does when it builds `grpc.Spec`.
 */
import protobuf from 'protobufjs';
import { lookupMessage } from './loader.js';

const JSON_NAME: Record<string, string> = {
  Version: 'ociVersion',
  UID: 'uid',
  GID: 'gid',
  UIDMappings: 'uidMappings',
  GIDMappings: 'gidMappings',
  CPU: 'cpu',
  OOMScoreAdj: 'oomScoreAdj',
  errnoret: 'errnoRet',
};

export function jsonName(protoField: string): string {
  return JSON_NAME[protoField] ?? protoField.charAt(0).toLowerCase() + protoField.slice(1);
}

type Json = Record<string, unknown>;

function toProto(type: protobuf.Type, json: Json): Json {
  const out: Json = {};
  for (const field of type.fieldsArray) {
    const v = json[jsonName(field.name)];
    if (v === undefined || v === null) continue;
    const sub = field.resolvedType instanceof protobuf.Type ? field.resolvedType : undefined;
    if (field.map) {
      out[field.name] = sub
        ? Object.fromEntries(Object.entries(v as Json).map(([k, e]) => [k, toProto(sub, e as Json)]))
        : { ...(v as Json) };
    } else if (field.repeated) {
      out[field.name] = sub ? (v as Json[]).map((e) => toProto(sub, e)) : [...(v as unknown[])];
    } else {
      out[field.name] = sub ? toProto(sub, v as Json) : v;
    }
  }
  return out;
}

function isEmptyValue(v: unknown): boolean {
  return v === undefined || v === null || (Array.isArray(v) && v.length === 0);
}

/** Messages whose zero values are meaningful (container id 0 is root). */
const KEEP_ZERO = new Set(['LinuxIDMapping', 'User']);

function toJson(type: protobuf.Type, msg: Json, keepDefaultsIn: boolean): Json {
  const keepDefaults = keepDefaultsIn || KEEP_ZERO.has(type.name);
  const out: Json = {};
  for (const field of type.fieldsArray) {
    const v = msg[field.name];
    if (isEmptyValue(v)) continue;
    const sub = field.resolvedType instanceof protobuf.Type ? field.resolvedType : undefined;
    const key = jsonName(field.name);
    if (field.map) {
      if (Object.keys(v as Json).length === 0) continue;
      out[key] = sub
        ? Object.fromEntries(Object.entries(v as Json).map(([k, e]) => [k, toJson(sub, e as Json, keepDefaultsIn)]))
        : { ...(v as Json) };
    } else if (field.repeated) {
      out[key] = sub ? (v as Json[]).map((e) => toJson(sub, e, keepDefaultsIn)) : [...(v as unknown[])];
    } else if (sub) {
      out[key] = toJson(sub, v as Json, keepDefaultsIn);
    } else {
      if (!keepDefaults && (v === '' || v === 0 || v === false) && !field.partOf) continue;
      out[key] = v;
    }
  }
  return out;
}

/** config.json → the plain object of `grpc.Spec` (proto field names) ready for the protocol codec. */
export function ociJsonToGrpcSpec(spec: Json): Json {
  return toProto(lookupMessage('grpc.Spec'), spec);
}

/**
 * A decoded `grpc.Spec` → config.json. Proto3 cannot tell an empty string or zero from an absent one, so scalar
 * defaults are left out, except the user ids (root is uid 0) and a few fields runc needs present.
 */
export function grpcSpecToOciJson(spec: Json): Json {
  const json = toJson(lookupMessage('grpc.Spec'), spec, false);
  const proc = json.process as Json | undefined;
  if (proc) {
    const user = (proc.user as Json | undefined) ?? {};
    proc.user = { uid: 0, gid: 0, ...user };
    if (proc.terminal === undefined) proc.terminal = false;
    if (proc.cwd === undefined) proc.cwd = '/';
  }
  const linux = json.linux as Json | undefined;
  for (const d of (linux?.devices as Json[] | undefined) ?? []) {
    for (const k of ['major', 'minor', 'uid', 'gid']) if (d[k] === undefined) d[k] = 0;
  }
  const res = linux?.resources as Json | undefined;
  for (const d of (res?.devices as Json[] | undefined) ?? []) if (d.allow === undefined) d.allow = false;
  return json;
}
