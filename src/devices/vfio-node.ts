/**
 * VFIO device node → PCI functions, through sysfs (Kata's `GetAllVFIODevicesFromIOMMUGroup` and iommufd cdev path).
 *
 * - iommufd cdev `/dev/vfio/devices/vfioN`: `/sys/dev/char/<maj>:<min>` resolves to `.../<BDF>/vfio-dev/vfioN`; the
 *   last BDF in the resolved path is the function. Exactly one function per cdev.
 * - legacy group `/dev/vfio/<g>`: every function listed in `/sys/kernel/iommu_groups/<g>/devices`, in listing order,
 *   skipping only host bridges (0x0600) and PCI-PCI bridges (0x0604). NVSwitches (0x0680) are kept (Kata #11912).
 *   Unlike Kata, which emits only the first function of a group, ccgpu passes every remaining function through.
 */
import fs from 'node:fs';
import path from 'node:path';
import { DeviceError } from '../errors/index.js';
import type { HostPaths } from './host-paths.js';
import { classCode16, lastBdfInPath, readPciFunction, type PciFunction } from './pci-function.js';

export const IOMMUFD_DEV_PREFIX = '/dev/vfio/devices/';
export const VFIO_CONTAINER_PATH = '/dev/vfio/vfio';

export type VfioNodeKind = 'iommufd' | 'group';

export interface VfioFunction extends PciFunction {
  /** Index in the group's directory listing (legacy) or the cdev number (iommufd); part of the QEMU device id. */
  index: number;
}

export interface VfioNode {
  /** Host node, e.g. `/dev/vfio/devices/vfio0` or `/dev/vfio/66`. */
  hostPath: string;
  kind: VfioNodeKind;
  /** Basename of the node: `vfio0` or `66` (the agent device id). */
  name: string;
  functions: VfioFunction[];
}

/** Host-bridge and PCI-bridge classes are never passed through. */
const SKIPPED_CLASSES = new Set([0x0600, 0x0604]);

/** Whether an OCI device path is a VFIO device to cold-plug (`/dev/vfio/*`, except the container node). */
export function isVfioDevicePath(p: string): boolean {
  return p.startsWith('/dev/vfio/') && !p.startsWith(VFIO_CONTAINER_PATH);
}

export function vfioNodeKind(hostPath: string): VfioNodeKind {
  return hostPath.startsWith(IOMMUFD_DEV_PREFIX) ? 'iommufd' : 'group';
}

/**
 * Host path of an OCI device from its numbers: `/sys/dev/char/<maj>:<min>/uevent` DEVNAME, else the container path
 * (Kata's `GetHostPath`).
 */
export function hostPathOfCharDevice(host: HostPaths, major: number, minor: number, containerPath: string): string {
  const uevent = path.join(host.sysfs, 'dev/char', `${major}:${minor}`, 'uevent');
  try {
    const m = /^DEVNAME=(.+)$/m.exec(fs.readFileSync(uevent, 'utf8'));
    if (m) return `/dev/${m[1]!.trim()}`;
  } catch {
    /* no uevent: fall back to the container path, as Kata does */
  }
  return containerPath;
}

/** Resolves a VFIO node to its passthrough functions. `major`/`minor` are the node's numbers (iommufd). */
export function resolveVfioNode(host: HostPaths, node: { hostPath: string; major: number; minor: number }): VfioNode {
  const name = path.basename(node.hostPath);
  if (vfioNodeKind(node.hostPath) === 'iommufd') {
    const link = path.join(host.sysfs, 'dev/char', `${node.major}:${node.minor}`);
    let resolved: string;
    try {
      resolved = fs.realpathSync(link);
    } catch (e) {
      throw new DeviceError(
        `VFIO device ${node.hostPath} (char ${node.major}:${node.minor}): ${link} does not resolve; is the device bound to vfio-pci with iommufd?`,
        node.hostPath,
        e,
      );
    }
    const bdf = lastBdfInPath(resolved);
    if (!bdf) {
      throw new DeviceError(`VFIO device ${node.hostPath}: no PCI address in ${resolved}`, node.hostPath);
    }
    const m = /^vfio(\d+)$/.exec(name);
    if (!m)
      throw new DeviceError(
        `VFIO device ${node.hostPath}: expected a name vfio<N> under ${IOMMUFD_DEV_PREFIX}`,
        node.hostPath,
      );
    return {
      hostPath: node.hostPath,
      kind: 'iommufd',
      name,
      functions: [{ ...readPciFunction(host, bdf), index: Number(m[1]) }],
    };
  }

  if (!/^\d+$/.test(name)) {
    throw new DeviceError(`VFIO device ${node.hostPath}: expected /dev/vfio/<IOMMU group number>`, node.hostPath);
  }
  const dir = path.join(host.sysfs, 'kernel/iommu_groups', name, 'devices');
  let entries: string[];
  try {
    entries = fs.readdirSync(dir).sort();
  } catch (e) {
    throw new DeviceError(`VFIO group ${node.hostPath}: cannot list ${dir}: ${(e as Error).message}`, node.hostPath, e);
  }
  const functions: VfioFunction[] = [];
  entries.forEach((bdf, index) => {
    const fn = readPciFunction(host, bdf);
    if (SKIPPED_CLASSES.has(classCode16(fn))) return; // the bridge still uses up its listing index
    functions.push({ ...fn, index });
  });
  if (functions.length === 0) {
    throw new DeviceError(
      `IOMMU group ${name} has no passthrough-capable devices (only bridges in ${dir})`,
      node.hostPath,
    );
  }
  return { hostPath: node.hostPath, kind: 'group', name, functions };
}
