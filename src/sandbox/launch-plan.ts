/**
 * From a sandbox's configuration and OCI spec to everything needed to start its VM: cold-plugged devices (CDI names
 * from PodResources or `cdi.k8s.io/*` annotations → CDI registry → VFIO nodes → PCI functions → PCIe topology),
 * the initdata image and digest, static sizing, and the QEMU command line. Pure apart from reading sysfs and CDI
 * specs: it creates nothing on disk, so `ccgpu qemu-cmdline` and the shim share it.
 */
import { createHash } from 'node:crypto';
import {
  CdiRegistry,
  parseAnnotations,
  withoutCdiAnnotations,
  type OciSpec,
  type StatDevice,
} from '../../cdi/index.js';
import { buildInitdataImage, decodeInitdataAnnotation } from '../../attestation/initdata/index.js';
import { staticSandboxSizing, type LoadedConfig } from '../config/index.js';
import { DeviceError, ConfigError } from '../errors/index.js';
import {
  buildPcieTopology,
  hostPathOfCharDevice,
  isVfioDevicePath,
  resolveVfioNode,
  type HostPaths,
  type PcieTopology,
  type VfioNode,
} from '../devices/index.js';
import {
  buildQemuCommandLine,
  sandboxPaths,
  type GuestProtection,
  type QemuCommandLine,
} from '../hypervisor/qemu/index.js';

export interface LaunchPlanInput {
  sandboxId: string;
  /** Configuration with the pod's annotations already applied. */
  loaded: LoadedConfig;
  /** The sandbox (or single) container's OCI spec. */
  spec: OciSpec;
  host: HostPaths;
  protection: GuestProtection;
  cbitpos: number;
  runDir: string;
  hostMemoryMiB: number;
  tdxQgsSocketPresent: boolean;
  qmpFd: number;
  vsock?: { vhostFd: number; cid: number };
  /** CDI names from kubelet PodResources (`<resource>=<id>`); undefined → use the spec's CDI annotations. */
  podResourceNames?: string[];
  /** CDI spec directories (default: the config's `cdi_spec_dirs`). */
  cdiSpecDirs?: string[];
  /** Device-node lookup for CDI injection (fixtures, dry runs). */
  statDevice?: StatDevice;
  uuid?: string;
  /** Host directory shared with the guest (shared_fs = "virtio-9p"). */
  sharedDir?: string;
}

export interface LaunchPlan {
  /** The sandbox spec after CDI injection, without `cdi.k8s.io/*` annotations. */
  spec: OciSpec;
  /** CDI names that were injected (empty when nothing was cold-plugged). */
  coldPlugged: string[];
  vfioNodes: VfioNode[];
  topology: PcieTopology;
  initdata?: { imagePath: string; image: Buffer; digest: Buffer; algorithm: string };
  sizing: { vcpus: number; maxVcpus: number; memoryMiB: number };
  cmdline: QemuCommandLine;
  deviceIdPrefix: string;
}

/** 16 hex digits naming a sandbox's devices (Kata uses a random device-manager id; ccgpu derives it, so dry runs repeat). */
export function deviceIdPrefixFor(sandboxId: string): string {
  return createHash('sha256').update(`ccgpu-devices:${sandboxId}`).digest('hex').slice(0, 16);
}

/** CDI names to cold-plug: PodResources when given, else the `cdi.k8s.io/*` annotations. */
export function coldPlugNames(input: Pick<LaunchPlanInput, 'loaded' | 'spec' | 'podResourceNames'>): string[] {
  if (input.loaded.config.hypervisor.coldPlugVfio === 'no-port') return [];
  if (input.podResourceNames && input.podResourceNames.length > 0) return input.podResourceNames;
  try {
    return parseAnnotations(input.spec.annotations).devices;
  } catch (e) {
    throw new DeviceError(`device cold plug failed: ${(e as Error).message}`, undefined, e);
  }
}

export function planSandboxLaunch(input: LaunchPlanInput): LaunchPlan {
  const { loaded } = input;
  const config = loaded.config;
  const h = config.hypervisor;

  // 1. cold plug: inject the CDI devices into the sandbox spec, then drop the host-only cdi.k8s.io annotations
  const names = coldPlugNames(input);
  let spec: OciSpec = structuredClone(input.spec);
  if (names.length > 0) {
    const registry = new CdiRegistry({
      specDirs: input.cdiSpecDirs ?? config.runtime.cdiSpecDirs,
      statDevice: input.statDevice,
    });
    try {
      spec = registry.injectDevices(spec, names).spec;
    } catch (e) {
      throw new DeviceError(
        `device cold plug failed: cold plug: CDI device injection failed: ${(e as Error).message}`,
        names.join(','),
        e,
      );
    }
  }
  spec.annotations = withoutCdiAnnotations(spec.annotations);

  // 2. VFIO nodes among the spec's devices → PCI functions
  const vfioNodes: VfioNode[] = [];
  const seen = new Set<string>();
  for (const d of spec.linux?.devices ?? []) {
    if (!isVfioDevicePath(d.path)) continue;
    const major = Number(d.major ?? -1);
    const minor = Number(d.minor ?? -1);
    const hostPath = major >= 0 ? hostPathOfCharDevice(input.host, major, minor, d.path) : d.path;
    if (seen.has(hostPath)) continue;
    seen.add(hostPath);
    vfioNodes.push(resolveVfioNode(input.host, { hostPath, major, minor }));
  }

  // 3. ports and buses
  const deviceIdPrefix = deviceIdPrefixFor(input.sandboxId);
  const topology = buildPcieTopology({
    nodes: vfioNodes,
    coldPlugVfio: h.coldPlugVfio,
    hotPlugVfio: h.hotPlugVfio,
    pcieRootPort: h.pcieRootPort,
    pcieSwitchPort: h.pcieSwitchPort,
    confidentialGuest: h.confidentialGuest,
    deviceIdPrefix,
  });

  // 4. initdata
  const paths = sandboxPaths(input.runDir);
  let initdata: LaunchPlan['initdata'];
  if (h.ccInitData) {
    let decoded;
    try {
      decoded = decodeInitdataAnnotation(h.ccInitData);
    } catch (e) {
      throw new ConfigError(
        `annotation io.katacontainers.config.hypervisor.cc_init_data: ${(e as Error).message}`,
        {
          annotation: 'io.katacontainers.config.hypervisor.cc_init_data',
        },
        e,
      );
    }
    initdata = {
      imagePath: `${input.runDir}/initdata.img`,
      image: buildInitdataImage(decoded),
      digest: decoded.digest,
      algorithm: decoded.algorithm,
    };
  }

  // 5. sizing
  const annotations = input.spec.annotations ?? {};
  let sizing: LaunchPlan['sizing'];
  if (config.runtime.staticSandboxResourceMgmt) {
    const s = staticSandboxSizing(config, annotations);
    sizing = { vcpus: s.vcpus, maxVcpus: s.vcpus, memoryMiB: s.memoryMiB };
  } else {
    sizing = { vcpus: h.defaultVcpus, maxVcpus: h.defaultMaxvcpus || h.defaultVcpus, memoryMiB: h.defaultMemory };
  }

  const cmdline = buildQemuCommandLine({
    sandboxId: input.sandboxId,
    uuid: input.uuid ?? uuidFor(input.sandboxId),
    config,
    protection: input.protection,
    cbitpos: input.cbitpos,
    sizing,
    hostMemoryMiB: input.hostMemoryMiB,
    topology,
    paths,
    qmpFd: input.qmpFd,
    vsock: input.vsock,
    initdata: initdata ? { imagePath: initdata.imagePath, digest: initdata.digest } : undefined,
    tdxQgsSocketPresent: input.tdxQgsSocketPresent,
    deviceIdPrefix,
    sharedDir: input.sharedDir,
  });
  return { spec, coldPlugged: names, vfioNodes, topology, initdata, sizing, cmdline, deviceIdPrefix };
}

/** A stable RFC 4122-shaped UUID for a sandbox id. */
export function uuidFor(sandboxId: string): string {
  const h = createHash('sha256').update(`ccgpu-uuid:${sandboxId}`).digest();
  h[6] = (h[6]! & 0x0f) | 0x50;
  h[8] = (h[8]! & 0x3f) | 0x80;
  const x = h.subarray(0, 16).toString('hex');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20, 32)}`;
}
