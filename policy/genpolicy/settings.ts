/**
 * genpolicy settings: a JSON file, or a directory holding `genpolicy-settings.json` plus
 * `genpolicy-settings.d/*.json` RFC 6902 drop-ins applied in file-name order. The result is validated
 * (required sections and types) so a broken drop-in is reported with the file that broke it.
 */
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { GenpolicyError } from './errors.js';
import { applyJsonPatch, type PatchOperation } from './json-patch.js';

export interface OciMountTemplate {
  destination: string;
  type_: string;
  source?: string;
  options: string[];
}

export interface ContainerTemplate {
  Root?: { Path?: string; Readonly?: boolean };
  Mounts?: OciMountTemplate[];
  Annotations?: Record<string, string>;
  Process?: {
    NoNewPrivileges?: boolean;
    User?: { UID: number; GID: number; AdditionalGids: number[]; Username: string };
    Args?: string[];
    Env?: string[];
    Cwd?: string;
  };
  Linux?: { Sysctl?: Record<string, string>; MaskedPaths?: string[]; ReadonlyPaths?: string[] };
}

export interface VolumeTemplate {
  mount_type: string;
  mount_source: string;
  mount_point?: string;
  driver: string;
  source?: string;
  fstype: string;
  options: string[];
}

export interface GenpolicySettings {
  pause_container: ContainerTemplate;
  other_container: ContainerTemplate;
  volumes: Record<string, VolumeTemplate>;
  mount_destinations: string[];
  sandbox: { storages: unknown[] };
  common: Record<string, unknown> & {
    cpath: string;
    sfprefix: string;
    default_caps: string[];
    privileged_caps: string[];
  };
  kata_config: { oci_version: string; enable_configmap_secret_storages?: boolean };
  cluster_config: {
    pause_container_image: string;
    guest_pull: boolean;
    emptydir_type: string;
    cgroup_mount_extras_allowed?: boolean;
  };
  devices: { vfio: { device_path: string; nvidia?: Record<string, unknown> } };
  runtime_anno_patterns: { sandbox: Record<string, string>; container: Record<string, string> };
  request_defaults: Record<string, unknown>;
}

export const SETTINGS_FILE_NAME = 'genpolicy-settings.json';
export const DROP_IN_DIR_NAME = 'genpolicy-settings.d';

function readJson(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new GenpolicyError(`cannot read settings ${file}: ${(e as Error).message}`, { file });
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new GenpolicyError(`settings ${file} is not valid JSON: ${(e as Error).message}`, { file });
  }
}

export interface LoadedSettings {
  readonly settings: GenpolicySettings;
  /** Files that contributed, base first then drop-ins in the order applied. */
  readonly files: readonly string[];
}

/** Loads a settings file, or a settings directory with its drop-ins. */
export function loadSettings(settingsPath: string): LoadedSettings {
  if (!existsSync(settingsPath))
    throw new GenpolicyError(`settings path ${settingsPath} does not exist`, { file: settingsPath });
  if (!statSync(settingsPath).isDirectory()) {
    const doc = readJson(settingsPath);
    return { settings: validateSettings(doc, settingsPath), files: [settingsPath] };
  }
  const base = path.join(settingsPath, SETTINGS_FILE_NAME);
  if (!existsSync(base))
    throw new GenpolicyError(`settings directory ${settingsPath} has no ${SETTINGS_FILE_NAME}`, { file: settingsPath });
  let doc = readJson(base);
  const files = [base];
  const dropDir = path.join(settingsPath, DROP_IN_DIR_NAME);
  if (existsSync(dropDir)) {
    const names = readdirSync(dropDir)
      .filter((n) => n.endsWith('.json'))
      .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    for (const n of names) {
      const file = path.join(dropDir, n);
      const ops = readJson(file);
      if (!Array.isArray(ops))
        throw new GenpolicyError(`drop-in ${file} must be a JSON Patch array (RFC 6902)`, { file });
      doc = applyJsonPatch(doc, ops as PatchOperation[], `drop-in ${file}`);
      files.push(file);
    }
  }
  return { settings: validateSettings(doc, `${base} + drop-ins`), files };
}

function need(cond: boolean, file: string, field: string, expected: string): void {
  if (!cond) throw new GenpolicyError(`settings ${file}: "${field}" must be ${expected}`, { file, field });
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isStrArray = (v: unknown): v is string[] => Array.isArray(v) && v.every((x) => typeof x === 'string');

export function validateSettings(doc: unknown, file: string): GenpolicySettings {
  need(isObj(doc), file, '/', 'a JSON object');
  const d = doc as Record<string, unknown>;
  for (const k of [
    'pause_container',
    'other_container',
    'volumes',
    'sandbox',
    'common',
    'kata_config',
    'cluster_config',
    'request_defaults',
    'devices',
    'runtime_anno_patterns',
  ]) {
    need(isObj(d[k]), file, k, 'an object');
  }
  need(isStrArray(d.mount_destinations), file, 'mount_destinations', 'an array of strings');
  const common = d.common as Record<string, unknown>;
  for (const k of ['cpath', 'sfprefix']) need(typeof common[k] === 'string', file, `common.${k}`, 'a string');
  for (const k of ['default_caps', 'privileged_caps'])
    need(isStrArray(common[k]), file, `common.${k}`, 'an array of strings');
  const kata = d.kata_config as Record<string, unknown>;
  need(
    typeof kata.oci_version === 'string' && /^1\.[0-9]+\.[0-9]+$/.test(kata.oci_version),
    file,
    'kata_config.oci_version',
    'an OCI version like "1.1.0"',
  );
  const cluster = d.cluster_config as Record<string, unknown>;
  need(typeof cluster.pause_container_image === 'string', file, 'cluster_config.pause_container_image', 'a string');
  need(typeof cluster.guest_pull === 'boolean', file, 'cluster_config.guest_pull', 'a boolean');
  need(typeof cluster.emptydir_type === 'string', file, 'cluster_config.emptydir_type', 'a string');
  const volumes = d.volumes as Record<string, unknown>;
  for (const [name, v] of Object.entries(volumes)) {
    need(isObj(v), file, `volumes.${name}`, 'an object');
    const t = v as Record<string, unknown>;
    for (const k of ['mount_type', 'mount_source', 'driver', 'fstype'])
      need(typeof t[k] === 'string', file, `volumes.${name}.${k}`, 'a string');
    need(isStrArray(t.options), file, `volumes.${name}.options`, 'an array of strings');
  }
  need(Array.isArray((d.sandbox as Record<string, unknown>).storages), file, 'sandbox.storages', 'an array');
  const vfio = (d.devices as Record<string, unknown>).vfio;
  need(isObj(vfio) && typeof vfio.device_path === 'string', file, 'devices.vfio.device_path', 'a string');
  const rap = d.runtime_anno_patterns as Record<string, unknown>;
  need(
    isObj(rap.sandbox) && isObj(rap.container),
    file,
    'runtime_anno_patterns',
    'an object with "sandbox" and "container" maps',
  );
  for (const which of ['pause_container', 'other_container']) {
    const mounts = (d[which] as Record<string, unknown>).Mounts;
    if (mounts !== undefined) {
      need(Array.isArray(mounts), file, `${which}.Mounts`, 'an array');
      (mounts as unknown[]).forEach((m, i) => {
        need(
          isObj(m) && typeof m.destination === 'string' && typeof m.type_ === 'string' && isStrArray(m.options),
          file,
          `${which}.Mounts[${i}]`,
          'an object with destination, type_ and options',
        );
      });
    }
  }
  return doc as GenpolicySettings;
}
