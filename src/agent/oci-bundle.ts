/**
 * OCI bundle for runc from a CreateContainer request: `grpc.Spec` (proto field names) → config.json, with the
 * cgroups path set for the guest's cgroup driver; and the process.json of an ExecProcess request.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { CcgpuError, Code } from '../errors/index.js';
import { grpcSpecToOciJson } from '../protocols/oci-spec.js';
import { cgroupsPathFor, type CgroupDriver } from './cgroup-path.js';

type Json = Record<string, unknown>;

function invalid(message: string, field: string): CcgpuError {
  return new CcgpuError(message, { code: Code.InvalidArgument, details: { field } });
}

const CONTAINER_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

/** Container and exec ids end up in paths and runc arguments: letters, digits, `_.-` only. */
export function checkId(id: string, field: string): string {
  if (!CONTAINER_ID.test(id)) {
    throw invalid(
      `${field} "${id}" is not valid: expected 1-128 characters [A-Za-z0-9_.-], not starting with a punctuation mark`,
      field,
    );
  }
  return id;
}

export interface BundleOptions {
  containerId: string;
  cgroupDriver: CgroupDriver;
}

/** config.json for runc from the request's `OCI` field. */
export function ociConfigFromGrpcSpec(spec: Json | undefined, o: BundleOptions): Json {
  if (!spec || Object.keys(spec).length === 0) {
    throw invalid(`CreateContainer ${o.containerId}: the request has no OCI spec`, 'OCI');
  }
  const config = grpcSpecToOciJson(spec);
  const root = config.root as Json | undefined;
  if (!root || typeof root.path !== 'string' || root.path === '') {
    throw invalid(`CreateContainer ${o.containerId}: OCI root.path is missing`, 'OCI.Root.Path');
  }
  if (!path.isAbsolute(root.path)) {
    throw invalid(
      `CreateContainer ${o.containerId}: OCI root.path "${root.path}" must be an absolute guest path`,
      'OCI.Root.Path',
    );
  }
  const proc = config.process as Json | undefined;
  if (!proc || !Array.isArray(proc.args) || proc.args.length === 0) {
    throw invalid(`CreateContainer ${o.containerId}: OCI process.args is empty`, 'OCI.Process.Args');
  }
  config.ociVersion ??= '1.0.2';
  const linux = (config.linux as Json | undefined) ?? {};
  linux.cgroupsPath = cgroupsPathFor(o.cgroupDriver, linux.cgroupsPath as string | undefined, o.containerId);
  config.linux = linux;
  return config;
}

/** process.json for `runc exec --process` from an ExecProcess request's `process` (grpc.Process). */
export function ociProcessFromGrpc(proc: Json | undefined, what: string): Json {
  if (!proc || Object.keys(proc).length === 0) throw invalid(`${what}: the request has no process`, 'process');
  const json = grpcSpecToOciJson({ Process: proc }).process as Json | undefined;
  if (!json || !Array.isArray(json.args) || json.args.length === 0) {
    throw invalid(`${what}: process.args is empty`, 'process.Args');
  }
  return json;
}

/** Writes `<dir>/config.json` (creating the directory) and returns its path. */
export async function writeBundle(dir: string, config: Json): Promise<string> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const file = path.join(dir, 'config.json');
  await writeFile(file, JSON.stringify(config, null, 2), { mode: 0o600 });
  return file;
}
