/**
 * Validating container edits and applying them to an OCI spec (pkg/cdi/container-edits.go semantics).
 */
import path from 'node:path';
import { messageOf } from './errors.js';
import type { StatDevice } from './host-device.js';
import type { CdiCompat, ContainerEdits, DeviceNode, OciHook, OciLinuxDevice, OciSpec } from './types.js';

export const HOOK_NAMES = [
  'prestart',
  'createRuntime',
  'createContainer',
  'startContainer',
  'poststart',
  'poststop',
] as const;
export const NO_PERMISSIONS = 'none';
const DEVICE_TYPES = new Set(['', 'b', 'c', 'u', 'p']);

/** Error message for the first bad entry, or undefined. */
export function validateEnv(env: readonly string[] | undefined): string | undefined {
  for (const v of env ?? []) {
    if (v.indexOf('=') <= 0) return `invalid environment variable ${JSON.stringify(v)}`;
  }
  return undefined;
}

function validateDeviceNode(d: DeviceNode, compat: CdiCompat): string | undefined {
  const p = d.path ?? '';
  if (p === '') return 'invalid (empty) device path';
  const type = d.type ?? '';
  if (!DEVICE_TYPES.has(type)) return `device ${JSON.stringify(p)}: invalid type ${JSON.stringify(type)}`;
  const perms = d.permissions ?? '';
  const noneOk = compat === 'head' && perms === NO_PERMISSIONS;
  if (perms !== '' && !noneOk && perms.replace(/^[rwm]+|[rwm]+$/g, '') !== '') {
    return `device ${JSON.stringify(p)}: invalid permissions ${JSON.stringify(perms)}`;
  }
  return undefined;
}

/** Validates one set of edits; returns the upstream error message or undefined. */
export function validateContainerEdits(e: ContainerEdits | undefined, compat: CdiCompat): string | undefined {
  if (!e) return undefined;
  const envErr = validateEnv(e.env);
  if (envErr) return `invalid container edits: ${envErr}`;
  for (const d of e.deviceNodes ?? []) {
    const err = validateDeviceNode(d, compat);
    if (err) return err;
  }
  for (const h of e.hooks ?? []) {
    const name = h.hookName ?? '';
    if (!(HOOK_NAMES as readonly string[]).includes(name)) return `invalid hook name ${JSON.stringify(name)}`;
    if ((h.path ?? '') === '') return `invalid hook ${JSON.stringify(name)} with empty path`;
    const err = validateEnv(h.env);
    if (err) return `invalid hook ${JSON.stringify(name)}: ${err}`;
  }
  for (const m of e.mounts ?? []) {
    if ((m.hostPath ?? '') === '') return 'invalid mount, empty host path';
    if ((m.containerPath ?? '') === '') return 'invalid mount, empty container path';
  }
  if (e.intelRdt) {
    const c = e.intelRdt.closID ?? '';
    if (c !== '/' && (c.length >= 4096 || c === '.' || c === '..' || /[/\n]/.test(c))) return 'invalid ClosID';
  }
  const hostSeen = new Map<string, string>();
  const nameSeen = new Map<string, string>();
  for (const n of e.netDevices ?? []) {
    const host = n.hostInterfaceName ?? '';
    const name = n.name ?? '';
    if (host === '') return 'invalid linux net device, empty HostInterfaceName';
    if (name === '') return 'invalid linux net device, empty Name';
    const q = JSON.stringify;
    if (hostSeen.has(host)) {
      return `invalid linux net device, duplicate HostInterfaceName ${q(host)} with names ${q(name)} and ${q(hostSeen.get(host)!)}`;
    }
    hostSeen.set(host, name);
    if (nameSeen.has(name)) {
      return `invalid linux net device, duplicate Name ${q(name)} with HostInterfaceName ${q(host)} and ${q(nameSeen.get(name)!)}`;
    }
    nameSeen.set(name, host);
  }
  return undefined;
}

/** True when the edits change nothing (a device with such edits is invalid). */
export function isEmptyEdits(e: ContainerEdits | undefined): boolean {
  if (!e) return true;
  return (
    (e.env?.length ?? 0) === 0 &&
    (e.deviceNodes?.length ?? 0) === 0 &&
    (e.hooks?.length ?? 0) === 0 &&
    (e.mounts?.length ?? 0) === 0 &&
    (e.additionalGids?.length ?? 0) === 0 &&
    e.intelRdt === undefined &&
    (e.netDevices?.length ?? 0) === 0
  );
}

/** Concatenates edits in order (intelRdt: the last one wins). */
export function appendEdits(into: ContainerEdits, o: ContainerEdits | undefined): ContainerEdits {
  if (!o) return into;
  const cat = <T>(a: T[] | undefined, b: T[] | undefined): T[] | undefined =>
    b && b.length > 0 ? [...(a ?? []), ...b] : a;
  return {
    env: cat(into.env, o.env),
    deviceNodes: cat(into.deviceNodes, o.deviceNodes),
    netDevices: cat(into.netDevices, o.netDevices),
    hooks: cat(into.hooks, o.hooks),
    mounts: cat(into.mounts, o.mounts),
    intelRdt: o.intelRdt ?? into.intelRdt,
    additionalGids: cat(into.additionalGids, o.additionalGids),
  };
}

/** Fills type/major/minor/fileMode of a device node from the host node, as upstream's fillMissingInfo. */
function fillDeviceNode(d: DeviceNode, statDevice: StatDevice): OciLinuxDevice & { hostPath: string } {
  const hostPath = d.hostPath || d.path;
  let type = d.type ?? '';
  let major = d.major ?? 0;
  let minor = d.minor ?? 0;
  let fileMode = d.fileMode;
  const minimal = type !== '' && (major !== 0 || type === 'p');
  let info: ReturnType<StatDevice> | undefined;
  try {
    info = statDevice(hostPath);
  } catch (e) {
    if (!minimal) throw new Error(`failed to stat CDI host device ${JSON.stringify(hostPath)}: ${messageOf(e)}`);
  }
  if (info) {
    if (fileMode === undefined && info.fileMode !== undefined) fileMode = info.fileMode;
    if (!minimal) {
      if (type === '') type = info.type;
      if (type !== info.type) {
        throw new Error(
          `CDI device (${JSON.stringify(d.path)}, ${JSON.stringify(hostPath)}), host type mismatch (${type}, ${info.type})`,
        );
      }
      if (type !== 'p' && major === 0) {
        major = info.major;
        minor = info.minor;
      }
    }
  }
  const dev: OciLinuxDevice & { hostPath: string } = { path: d.path, type, major, minor, hostPath };
  if (fileMode !== undefined) dev.fileMode = fileMode;
  if (d.uid !== undefined) dev.uid = d.uid;
  if (d.gid !== undefined) dev.gid = d.gid;
  return dev;
}

function hasUserNamespace(spec: OciSpec): boolean {
  return (spec.linux?.namespaces ?? []).some((n) => n.type === 'user');
}

function withIdmap(options: string[] | undefined, type: string | undefined): string[] | undefined {
  let option = type === 'bind' ? 'idmap' : '';
  for (const o of options ?? []) {
    if (o === 'idmap' || o === 'ridmap') return options;
    if (o === 'bind') option = 'idmap';
    if (o === 'rbind') option = 'ridmap';
  }
  return option ? [...(options ?? []), option] : options;
}

function depth(dest: string): number {
  return (path.posix.normalize(dest).match(/\//g) ?? []).length;
}

/**
 * Applies combined edits to `spec` in place. Order and semantics follow upstream Apply: env (replace by key),
 * device nodes (filled from the host, replace by path, one cgroup allow rule each for b/c), net devices, mounts
 * (replace by destination, stable sort by depth), hooks (append), intelRdt (replace), additionalGids (append, skip
 * 0 and duplicates).
 */
export function applyContainerEdits(
  spec: OciSpec,
  e: ContainerEdits,
  opts: { statDevice: StatDevice; compat: CdiCompat },
): void {
  if ((e.env?.length ?? 0) > 0) {
    spec.process ??= {};
    const env = (spec.process.env ??= []);
    const index = new Map<string, number>();
    env.forEach((v, i) => index.set(v.split('=')[0]!, i));
    for (const v of e.env!) {
      const key = v.split('=')[0]!;
      const at = index.get(key);
      if (at !== undefined) env[at] = v;
      else {
        env.push(v);
        index.set(key, env.length - 1);
      }
    }
  }

  for (const d of e.deviceNodes ?? []) {
    const { hostPath: _hostPath, ...dev } = fillDeviceNode(d, opts.statDevice);
    const user = spec.process?.user;
    if (dev.uid === undefined && user?.uid !== undefined && user.uid > 0) dev.uid = user.uid;
    if (dev.gid === undefined && user?.gid !== undefined && user.gid > 0) dev.gid = user.gid;
    spec.linux ??= {};
    const devices = (spec.linux.devices ??= []);
    const at = devices.findIndex((x) => x.path === dev.path);
    if (at >= 0) devices.splice(at, 1);
    const again = devices.findIndex((x) => x.path === dev.path); // a second entry with that path is replaced in place
    if (again >= 0) devices[again] = dev;
    else devices.push(dev);
    if (dev.type === 'b' || dev.type === 'c') {
      let access = d.permissions ?? '';
      if (access === '') access = 'rwm';
      else if (access === NO_PERMISSIONS) access = '';
      spec.linux.resources ??= {};
      const rule = { allow: true, type: dev.type, major: dev.major, minor: dev.minor, ...(access ? { access } : {}) };
      (spec.linux.resources.devices ??= []).push(rule);
    }
  }

  for (const n of e.netDevices ?? []) {
    spec.linux ??= {};
    (spec.linux.netDevices ??= {})[n.hostInterfaceName] = { name: n.name };
  }

  if ((e.mounts?.length ?? 0) > 0) {
    const userns = opts.compat === 'head' && hasUserNamespace(spec);
    const mounts = (spec.mounts ??= []);
    for (const m of e.mounts!) {
      const at = mounts.findIndex((x) => x.destination === m.containerPath);
      if (at >= 0) mounts.splice(at, 1);
      const options = userns ? withIdmap(m.options, m.type) : m.options;
      mounts.push({
        source: m.hostPath,
        destination: m.containerPath,
        ...(options ? { options } : {}),
        ...(m.type ? { type: m.type } : {}),
      });
    }
    // Array.prototype.sort is stable
    spec.mounts = mounts
      .map((m, i) => ({ m, i }))
      .sort((a, b) => depth(a.m.destination) - depth(b.m.destination) || a.i - b.i)
      .map((x) => x.m);
  }

  for (const h of e.hooks ?? []) {
    spec.hooks ??= {};
    const hook: OciHook = { path: h.path };
    if (h.args) hook.args = h.args;
    if (h.env) hook.env = h.env;
    if (h.timeout !== undefined) hook.timeout = h.timeout;
    const list = (spec.hooks[h.hookName] ??= []) as OciHook[];
    list.push(hook);
  }

  if (e.intelRdt) {
    spec.linux ??= {};
    spec.linux.intelRdt = { ...e.intelRdt };
  }

  for (const gid of e.additionalGids ?? []) {
    if (gid === 0) continue;
    spec.process ??= {};
    spec.process.user ??= {};
    const gids = (spec.process.user.additionalGids ??= []);
    if (!gids.includes(gid)) gids.push(gid);
  }
}
