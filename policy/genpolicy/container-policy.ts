/**
 * One `policy_data.containers[]` entry: the OCI spec containerd + kubelet would produce for the container
 * (process, mounts, annotations, namespaces, masked paths, sysctls), plus storages, devices, exec commands
 * and runtime annotation patterns. The pause container comes from the settings alone.
 */
import { formatImageReference, parseImageReference } from '../oci/index.js';
import type { ConfigObjects } from './config-maps.js';
import { buildEnv, expandVars } from './env.js';
import { GenpolicyError } from './errors.js';
import type { ImageInfo } from './image-source.js';
import type { Container, ObjectMeta, PodSpec } from './k8s-types.js';
import type { PolicyCapabilities, PolicyContainer, PolicyDevice, PolicyMount, PolicyStorage } from './policy-types.js';
import type { GenpolicySettings } from './settings.js';
import { resolveUser } from './users.js';

/** containerd's default mounts for every container (before kubelet's). */
function containerdDefaultMounts(privileged: boolean, withCgroup: boolean): PolicyMount[] {
  const mounts: PolicyMount[] = [
    { destination: '/proc', source: 'proc', type_: 'proc', options: ['nosuid', 'noexec', 'nodev'] },
    {
      destination: '/dev',
      source: 'tmpfs',
      type_: 'tmpfs',
      options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'],
    },
    {
      destination: '/dev/pts',
      source: 'devpts',
      type_: 'devpts',
      options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'],
    },
    { destination: '/dev/mqueue', source: 'mqueue', type_: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
    {
      destination: '/sys',
      source: 'sysfs',
      type_: 'sysfs',
      options: ['nosuid', 'noexec', 'nodev', privileged ? 'rw' : 'ro'],
    },
  ];
  if (withCgroup) {
    mounts.push({
      destination: '/sys/fs/cgroup',
      source: 'cgroup',
      type_: 'cgroup',
      options: ['nosuid', 'noexec', 'nodev', 'relatime', privileged ? 'rw' : 'ro'],
    });
  }
  return mounts;
}

const DEFAULT_CAPS = ['$(default_caps)'];
const PRIV_CAPS = ['$(privileged_caps)'];

function normaliseCap(c: string): string {
  const u = c.toUpperCase();
  return u.startsWith('CAP_') ? u : `CAP_${u}`;
}

function capabilities(c: Container, settings: GenpolicySettings): PolicyCapabilities {
  const sc = c.securityContext ?? {};
  if (sc.privileged)
    return { Ambient: [], Bounding: PRIV_CAPS, Effective: PRIV_CAPS, Inheritable: [], Permitted: PRIV_CAPS };
  const add = sc.capabilities?.add ?? [];
  const drop = sc.capabilities?.drop ?? [];
  if (add.length === 0 && drop.length === 0) {
    return {
      Ambient: [],
      Bounding: DEFAULT_CAPS,
      Effective: DEFAULT_CAPS,
      Inheritable: [],
      Permitted: DEFAULT_CAPS,
    };
  }
  let caps: string[] = add.some((a) => a.toUpperCase() === 'ALL')
    ? [...settings.common.privileged_caps]
    : [...settings.common.default_caps];
  for (const a of add) if (a.toUpperCase() !== 'ALL' && !caps.includes(normaliseCap(a))) caps.push(normaliseCap(a));
  if (drop.some((d) => d.toUpperCase() === 'ALL'))
    caps = add.filter((a) => a.toUpperCase() !== 'ALL').map(normaliseCap);
  else caps = caps.filter((x) => !drop.map(normaliseCap).includes(x));
  return { Ambient: [], Bounding: caps, Effective: caps, Inheritable: [], Permitted: [...caps] };
}

function escapeRegex(s: string): string {
  return s.replace(/[\\^$.*+?()[\]{}|-]/g, '\\$&');
}

export interface PodContext {
  readonly kind: string;
  readonly meta: ObjectMeta;
  readonly podMeta: ObjectMeta;
  readonly spec: PodSpec;
  readonly namespace: string;
  /** Regex (anchored) or exact value for the sandbox-name annotation. */
  readonly sandboxName: string;
  readonly config: ConfigObjects;
  readonly settings: GenpolicySettings;
  readonly label: string;
}

/** Sandbox (pod) name as the runtime will see it: exact for a Pod, a pattern for controllers. */
export function sandboxNamePattern(kind: string, meta: ObjectMeta, podMeta: ObjectMeta): string {
  const own = kind === 'Pod' ? meta : podMeta;
  if (kind === 'Pod') {
    if (own.name) return `^${escapeRegex(own.name)}$`;
    if (own.generateName) return `^${escapeRegex(own.generateName)}[a-z0-9]{5}$`;
    throw new GenpolicyError(`Pod has neither metadata.name nor metadata.generateName`, { field: 'metadata.name' });
  }
  const name = meta.name;
  if (!name) throw new GenpolicyError(`${kind} has no metadata.name`, { field: 'metadata.name' });
  const n = escapeRegex(name);
  switch (kind) {
    case 'Deployment':
      return `^${n}-[a-z0-9]+-[a-z0-9]{5}$`;
    case 'StatefulSet':
      return `^${n}-[0-9]+$`;
    case 'CronJob':
      return `^${n}-[0-9]+-[a-z0-9]{5}$`;
    default:
      return `^${n}-[a-z0-9]{5}$`;
  }
}

function commonAnnotations(ctx: PodContext): Record<string, string> {
  return {
    'io.kubernetes.cri.sandbox-name': ctx.sandboxName,
    'io.kubernetes.cri.sandbox-namespace': `^${escapeRegex(ctx.namespace)}$`,
  };
}

function namespaces(hostNetwork: boolean, isPause: boolean): { Type: string; Path: string }[] {
  const ns = [{ Type: 'ipc', Path: '' }];
  if (!(isPause && hostNetwork)) ns.push({ Type: 'uts', Path: '' });
  ns.push({ Type: 'mount', Path: '' });
  return ns;
}

function sysctls(ctx: PodContext, base: Record<string, string> | undefined): Record<string, string> {
  const out: Record<string, string> = { ...(base ?? {}) };
  for (const s of ctx.spec.securityContext?.sysctls ?? []) out[s.name] = String(s.value);
  return out;
}

export function pauseContainerPolicy(ctx: PodContext): PolicyContainer {
  const t = ctx.settings.pause_container;
  const pauseImage = ctx.settings.cluster_config.pause_container_image;
  const pauseGuestPull = guestPullStorage(
    ctx.settings,
    normaliseImageName(pauseImage, 'cluster_config.pause_container_image'),
  );
  const p = t.Process ?? {};
  const mounts = [...containerdDefaultMounts(false, false)];
  for (const m of t.Mounts ?? [])
    mounts.push({
      destination: m.destination,
      source: m.source ?? `$(sfprefix)${basename(m.destination)}$`,
      type_: m.type_,
      options: [...m.options],
    });
  return {
    OCI: {
      Version: ctx.settings.kata_config.oci_version,
      Process: {
        Terminal: false,
        User: p.User
          ? { ...p.User, AdditionalGids: [...p.User.AdditionalGids] }
          : { UID: 65535, GID: 65535, AdditionalGids: [65535], Username: '' },
        Args: [...(p.Args ?? ['/pause'])],
        Env: [...(p.Env ?? [])],
        Cwd: p.Cwd ?? '/',
        Capabilities: {
          Ambient: [],
          Bounding: DEFAULT_CAPS,
          Effective: DEFAULT_CAPS,
          Inheritable: [],
          Permitted: DEFAULT_CAPS,
        },
        NoNewPrivileges: p.NoNewPrivileges ?? true,
      },
      Root: { Path: t.Root?.Path ?? '$(root_path)', Readonly: t.Root?.Readonly ?? true },
      Mounts: mounts,
      Annotations: { ...(t.Annotations ?? {}), ...commonAnnotations(ctx) },
      Linux: {
        Namespaces: namespaces(ctx.spec.hostNetwork === true, true),
        MaskedPaths: [...(t.Linux?.MaskedPaths ?? [])],
        ReadonlyPaths: [...(t.Linux?.ReadonlyPaths ?? [])],
        Devices: [],
        Sysctl: sysctls(ctx, t.Linux?.Sysctl),
      },
    },
    storages: [pauseGuestPull].filter((x): x is PolicyStorage => x !== undefined),
    devices: [],
    sandbox_pidns: false,
    exec_commands: [],
    runtime_anno_patterns: { ...ctx.settings.runtime_anno_patterns.sandbox },
  };
}

function basename(p: string): string {
  const parts = p.split('/').filter(Boolean);
  return parts[parts.length - 1] ?? '';
}

function args(c: Container, image: ImageInfo, vars: ReadonlyMap<string, string>, where: string): string[] {
  const entrypoint = image.config.Entrypoint ?? [];
  const cmd = image.config.Cmd ?? [];
  let out: string[];
  if (c.command !== undefined) out = [...c.command, ...(c.args ?? [])];
  else if (c.args !== undefined) out = [...entrypoint, ...c.args];
  else out = [...entrypoint, ...cmd];
  if (out.length === 0)
    throw new GenpolicyError(`${where}: no command: neither the container nor image ${image.reference} sets one`, {
      field: where,
    });
  return out.map((a) => expandVars(a, vars));
}

function gpuCount(c: Container, settings: GenpolicySettings): number {
  const prefixes = (settings.devices.vfio.nvidia?.resource_prefixes as string[] | undefined) ?? [];
  let n = 0;
  for (const [k, v] of Object.entries(c.resources?.limits ?? {})) {
    if (prefixes.some((p) => k === p || k.startsWith(`${p}`))) n += Number(v) || 0;
  }
  return n;
}

export interface WorkloadContainerResult {
  readonly policy: PolicyContainer;
  /** Non-empty when guest pull is on and user/group values come only from the image. */
  readonly guestPullHints: string[];
}

/** The image name as containerd reports it (`busybox` → `docker.io/library/busybox:latest`). */
export function normaliseImageName(image: string, where: string): string {
  try {
    return formatImageReference(parseImageReference(image));
  } catch (e) {
    throw new GenpolicyError(`${where}: ${(e as Error).message}`, { field: where }, e);
  }
}

/** With guest pull, the storage through which the agent pulls the container's image inside the guest. */
function guestPullStorage(s: GenpolicySettings, imageName: string): PolicyStorage | undefined {
  const tpl = s.volumes.image_guest_pull;
  if (!s.cluster_config.guest_pull || !tpl) return undefined;
  return {
    driver: tpl.driver,
    driver_options: [],
    source: imageName,
    fstype: tpl.fstype,
    options: [...tpl.options],
    mount_point: tpl.mount_point ?? '$(root_path)',
    fs_group: null,
  };
}

export function workloadContainerPolicy(
  ctx: PodContext,
  c: Container,
  image: ImageInfo,
  where: string,
): WorkloadContainerResult {
  const s = ctx.settings;
  const imageName = normaliseImageName(c.image, `${where}.image`);
  const psc = ctx.spec.securityContext ?? {};
  const sc = c.securityContext ?? {};
  const privileged = sc.privileged === true;
  const user = resolveUser({
    ...(image.config.User !== undefined ? { imageUser: image.config.User } : {}),
    ...(image.passwd !== undefined ? { passwd: image.passwd } : {}),
    ...(image.group !== undefined ? { group: image.group } : {}),
    ...((sc.runAsUser ?? psc.runAsUser) !== undefined ? { runAsUser: (sc.runAsUser ?? psc.runAsUser)! } : {}),
    ...((sc.runAsGroup ?? psc.runAsGroup) !== undefined ? { runAsGroup: (sc.runAsGroup ?? psc.runAsGroup)! } : {}),
    ...(psc.supplementalGroups ? { supplementalGroups: psc.supplementalGroups } : {}),
    ...(psc.fsGroup !== undefined ? { fsGroup: psc.fsGroup } : {}),
    where,
  });
  const hints: string[] = [];
  if (s.cluster_config.guest_pull) {
    if (user.fromImage.uid) hints.push(`runAsUser: ${user.UID}`);
    if (user.fromImage.gid) hints.push(`runAsGroup: ${user.GID}`);
    if (user.fromImage.groups.length) hints.push(`supplementalGroups: [${user.fromImage.groups.join(', ')}]`);
  }
  const { env, vars } = buildEnv(image.config.Env ?? [], c, {
    podMeta: ctx.podMeta,
    namespace: ctx.namespace,
    spec: ctx.spec,
    config: ctx.config,
    where,
  });

  const mounts = containerdDefaultMounts(privileged, true);
  const t = s.other_container;
  const automount = ctx.spec.automountServiceAccountToken !== false;
  for (const m of t.Mounts ?? []) {
    if (m.destination === '/var/run/secrets/kubernetes.io/serviceaccount' && !automount) continue;
    let destination = m.destination;
    if (destination === '/dev/termination-log' && c.terminationMessagePath) destination = c.terminationMessagePath;
    mounts.push({
      destination,
      source: m.source ?? `$(sfprefix)${basename(m.destination)}$`,
      type_: m.type_,
      options: [...m.options],
    });
  }
  const storages: PolicyStorage[] = [];
  for (const [i, vm] of (c.volumeMounts ?? []).entries()) {
    volumeMount(ctx, c, vm, `${where}.volumeMounts[${i}]`, mounts, storages);
  }
  const guestPull = guestPullStorage(s, imageName);
  if (guestPull) storages.push(guestPull);
  const devices: PolicyDevice[] = [];
  const gpus = gpuCount(c, s);
  for (let i = 0; i < gpus; i++) {
    devices.push({
      id: '',
      type_: 'vfio-pci-gk',
      vm_path: '',
      container_path: s.devices.vfio.device_path,
      options: [],
    });
  }

  const execCommands: string[][] = [];
  for (const probe of [
    c.livenessProbe,
    c.readinessProbe,
    c.startupProbe,
    c.lifecycle?.postStart,
    c.lifecycle?.preStop,
  ]) {
    if (probe?.exec?.command?.length) execCommands.push([...probe.exec.command]);
  }

  const annotations: Record<string, string> = {
    ...(t.Annotations ?? {}),
    'io.kubernetes.cri.container-name': c.name,
    'io.kubernetes.cri.image-name': imageName,
    ...commonAnnotations(ctx),
  };
  const readonlyRoot = sc.readOnlyRootFilesystem === true;
  return {
    policy: {
      OCI: {
        Version: s.kata_config.oci_version,
        Process: {
          Terminal: c.tty === true,
          User: { UID: user.UID, GID: user.GID, AdditionalGids: user.AdditionalGids, Username: '' },
          Args: args(c, image, vars, where),
          Env: env,
          Cwd: c.workingDir || image.config.WorkingDir || '/',
          Capabilities: capabilities(c, s),
          NoNewPrivileges: !privileged && sc.allowPrivilegeEscalation === false,
        },
        Root: { Path: t.Root?.Path ?? '$(root_path)', Readonly: readonlyRoot },
        Mounts: mounts,
        Annotations: annotations,
        Linux: {
          Namespaces: namespaces(ctx.spec.hostNetwork === true, false),
          MaskedPaths: privileged ? [] : [...(t.Linux?.MaskedPaths ?? [])],
          ReadonlyPaths: privileged ? [] : [...(t.Linux?.ReadonlyPaths ?? [])],
          Devices: [],
          Sysctl: sysctls(ctx, t.Linux?.Sysctl),
        },
      },
      storages,
      devices,
      sandbox_pidns: ctx.spec.shareProcessNamespace === true,
      exec_commands: execCommands,
      runtime_anno_patterns: {
        ...s.runtime_anno_patterns.container,
        ...(gpus > 0 ? { '^cdi\\.k8s\\.io/vfio[0-9]+$': '^nvidia\\.com/gpu=[0-9]+$' } : {}),
      },
    },
    guestPullHints: hints,
  };
}

function volumeMount(
  ctx: PodContext,
  c: Container,
  vm: NonNullable<Container['volumeMounts']>[number],
  where: string,
  mounts: PolicyMount[],
  storages: PolicyStorage[],
): void {
  const s = ctx.settings;
  const vol = (ctx.spec.volumes ?? []).find((v) => v.name === vm.name);
  if (!vol)
    throw new GenpolicyError(`${where}: volume "${vm.name}" is not defined in the pod's volumes`, { field: where });
  const rw = vm.readOnly ? 'ro' : 'rw';
  const name = escapeRegex(vol.name);
  if (vol.emptyDir) {
    const key =
      vol.emptyDir.medium === 'Memory'
        ? 'emptyDir_memory'
        : s.cluster_config.emptydir_type === 'block-encrypted'
          ? 'emptyDir_encrypted'
          : 'emptyDir';
    const tpl = s.volumes[key];
    if (!tpl)
      throw new GenpolicyError(`${where}: settings have no volumes.${key} template`, { field: `volumes.${key}` });
    mounts.push({
      destination: vm.mountPath,
      source: `${tpl.mount_source}${name}$`,
      type_: tpl.mount_type,
      options: ['rbind', 'rprivate', rw],
    });
    storages.push({
      driver: tpl.driver,
      driver_options: [],
      source: tpl.source ?? '',
      fstype: tpl.fstype,
      options: [...tpl.options],
      mount_point: `${tpl.mount_point ?? tpl.mount_source}${name}$`,
      fs_group: null,
    });
    return;
  }
  if (vol.configMap || vol.secret || vol.projected || vol.downwardAPI) {
    if (vol.configMap)
      ctx.config.entries(
        'ConfigMap',
        vol.configMap.name,
        vol.configMap.optional === true,
        `${where} (volume ${vol.name})`,
      );
    if (vol.secret)
      ctx.config.entries(
        'Secret',
        vol.secret.secretName,
        vol.secret.optional === true,
        `${where} (volume ${vol.name})`,
      );
    const tpl = s.volumes.configMap;
    if (!tpl)
      throw new GenpolicyError(`${where}: settings have no volumes.configMap template`, { field: 'volumes.configMap' });
    mounts.push({
      destination: vm.mountPath,
      source: `${tpl.mount_source}${name}$`,
      type_: tpl.mount_type,
      options: [...tpl.options],
    });
    return;
  }
  if (vol.hostPath || vol.persistentVolumeClaim) {
    const tpl = s.volumes.hostPath;
    if (!tpl)
      throw new GenpolicyError(`${where}: settings have no volumes.hostPath template`, { field: 'volumes.hostPath' });
    const base = escapeRegex(vol.hostPath ? basename(vol.hostPath.path) : 'mount');
    mounts.push({
      destination: vm.mountPath,
      source: `${tpl.mount_source}${vol.hostPath ? base : '[a-z0-9-]+'}$`,
      type_: tpl.mount_type,
      options: [...tpl.options, rw],
    });
    return;
  }
  throw new GenpolicyError(`${where}: volume "${vol.name}" of container "${c.name}" has an unsupported type`, {
    field: where,
  });
}
