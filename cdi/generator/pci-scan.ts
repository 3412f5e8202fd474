/**
 * Discovery of NVIDIA GPUs and NVSwitches bound to vfio-pci from sysfs (the way go-nvlib's nvpci reads
 * /sys/bus/pci/devices/*). The root is configurable so tests can point it at a fixture tree.
 */
import fs from 'node:fs';
import path from 'node:path';

export const NVIDIA_VENDOR = '0x10de';
export const CLASS_VGA = 0x030000;
export const CLASS_3D = 0x030200;
export const CLASS_NVSWITCH = 0x068000;

export type VfioDeviceKind = 'gpu' | 'nvswitch';

export interface VfioPciFunction {
  bdf: string;
  kind: VfioDeviceKind;
  vendor: string; // "10de"
  device: string; // "2330"
  class: number;
  iommuGroup: number;
  /** N of /dev/vfio/devices/vfioN when the kernel created a VFIO cdev for the function. */
  vfioCdev?: number;
  numaNode?: number;
}

export interface PciScanResult {
  /** IOMMUFD is usable: `<root>/dev/iommu` exists. */
  iommufd: boolean;
  /** NVIDIA GPUs/NVSwitches bound to vfio-pci, sorted by PCI address. */
  functions: VfioPciFunction[];
  /** NVIDIA GPUs/NVSwitches that were found but not used, and why. */
  skipped: { bdf: string; reason: string }[];
}

function readTrim(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8').trim();
  } catch {
    return undefined;
  }
}

function linkBase(link: string): string | undefined {
  try {
    return path.basename(fs.readlinkSync(link));
  } catch {
    return undefined;
  }
}

export function classifyFunction(vendor: string, cls: number): VfioDeviceKind | undefined {
  if (vendor.toLowerCase() !== NVIDIA_VENDOR) return undefined;
  if (cls === CLASS_VGA || cls === CLASS_3D) return 'gpu';
  if (cls === CLASS_NVSWITCH) return 'nvswitch';
  return undefined;
}

/** Compares PCI addresses `dddd:bb:dd.f` numerically. */
export function comparePciAddress(a: string, b: string): number {
  const key = (s: string): number[] => s.split(/[:.]/).map((x) => parseInt(x, 16));
  const ka = key(a);
  const kb = key(b);
  for (let i = 0; i < Math.max(ka.length, kb.length); i++) {
    const d = (ka[i] ?? -1) - (kb[i] ?? -1);
    if (d !== 0) return d;
  }
  return 0;
}

/** Scans `<root>/sys/bus/pci/devices`. Throws when that directory cannot be read. */
export function scanVfioPciFunctions(root = '/'): PciScanResult {
  const devicesDir = path.join(root, 'sys/bus/pci/devices');
  let entries: string[];
  try {
    entries = fs.readdirSync(devicesDir);
  } catch (e) {
    throw new Error(`cannot list PCI devices in ${JSON.stringify(devicesDir)}: ${(e as Error).message}`);
  }
  const iommufd = fs.existsSync(path.join(root, 'dev/iommu'));
  const functions: VfioPciFunction[] = [];
  const skipped: PciScanResult['skipped'] = [];
  for (const bdf of entries.sort(comparePciAddress)) {
    const dir = path.join(devicesDir, bdf);
    const vendor = readTrim(path.join(dir, 'vendor'));
    const clsText = readTrim(path.join(dir, 'class'));
    if (vendor === undefined || clsText === undefined) continue;
    const cls = parseInt(clsText, 16);
    const kind = classifyFunction(vendor, cls);
    if (!kind) continue;
    const driver = linkBase(path.join(dir, 'driver'));
    if (driver !== 'vfio-pci') {
      skipped.push({ bdf, reason: driver ? `bound to ${driver}, not vfio-pci` : 'not bound to any driver' });
      continue;
    }
    const groupText = linkBase(path.join(dir, 'iommu_group'));
    const group = groupText !== undefined && /^\d+$/.test(groupText) ? Number(groupText) : undefined;
    if (group === undefined) {
      skipped.push({ bdf, reason: 'no IOMMU group (is the IOMMU enabled?)' });
      continue;
    }
    let vfioCdev: number | undefined;
    try {
      const cdev = fs.readdirSync(path.join(dir, 'vfio-dev')).find((n) => /^vfio\d+$/.test(n));
      if (cdev) vfioCdev = Number(cdev.slice(4));
    } catch {
      // no vfio-dev: kernel without VFIO cdev support
    }
    const device = (readTrim(path.join(dir, 'device')) ?? '').toLowerCase().replace(/^0x/, '');
    const numa = readTrim(path.join(dir, 'numa_node'));
    const fn: VfioPciFunction = {
      bdf,
      kind,
      vendor: vendor.toLowerCase().replace(/^0x/, ''),
      device,
      class: cls,
      iommuGroup: group,
    };
    if (vfioCdev !== undefined) fn.vfioCdev = vfioCdev;
    if (numa !== undefined && /^-?\d+$/.test(numa)) fn.numaNode = Number(numa);
    functions.push(fn);
  }
  return { iommufd, functions, skipped };
}
