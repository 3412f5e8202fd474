/** A PCI function as sysfs describes it. */
import fs from 'node:fs';
import path from 'node:path';
import { DeviceError } from '../errors/index.js';
import type { HostPaths } from './host-paths.js';

export interface PciFunction {
  /** Full address, `DDDD:BB:DD.F`. */
  bdf: string;
  /** Raw sysfs strings, e.g. `0x10de`, `0x2330`, `0x030200`. */
  vendor: string;
  device: string;
  class: string;
  /** Host NUMA node; -1 when the platform reports none. */
  numaNode: number;
  /** PCIe when the config space is larger than 256 bytes. */
  isPcie: boolean;
}

export const BDF_RE = /[0-9a-fA-F]{4}:[0-9a-fA-F]{2}:[0-9a-fA-F]{2}\.[0-7]/g;

/** The last `DDDD:BB:DD.F` in a path (the function itself, not its upstream bridges). */
export function lastBdfInPath(p: string): string | undefined {
  const m = p.match(BDF_RE);
  return m ? m[m.length - 1] : undefined;
}

function readAttr(dir: string, attr: string, bdf: string): string {
  const file = path.join(dir, attr);
  try {
    return fs.readFileSync(file, 'utf8').trim();
  } catch (e) {
    throw new DeviceError(`cannot read ${file} for PCI device ${bdf}: ${(e as Error).message}`, bdf, e);
  }
}

export function readPciFunction(host: HostPaths, bdf: string): PciFunction {
  const dir = path.join(host.sysfs, 'bus/pci/devices', bdf);
  if (!fs.existsSync(dir)) {
    throw new DeviceError(`PCI device ${bdf} not found: ${dir} does not exist`, bdf);
  }
  const numa = Number.parseInt(readOptional(path.join(dir, 'numa_node')) ?? '-1', 10);
  let configSize: number;
  try {
    configSize = fs.statSync(path.join(dir, 'config')).size;
  } catch (e) {
    throw new DeviceError(`cannot stat ${path.join(dir, 'config')} for PCI device ${bdf}`, bdf, e);
  }
  return {
    bdf,
    vendor: readAttr(dir, 'vendor', bdf),
    device: readAttr(dir, 'device', bdf),
    class: readAttr(dir, 'class', bdf),
    numaNode: Number.isNaN(numa) ? -1 : numa,
    isPcie: configSize > 256,
  };
}

function readOptional(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8').trim();
  } catch {
    return undefined;
  }
}

/** Upper 16 bits of the 24-bit class code: 0x0600 host bridge, 0x0604 PCI bridge, 0x0302 3D controller, ... */
export function classCode16(fn: Pick<PciFunction, 'class'>): number {
  return Number.parseInt(fn.class, 16) >> 8;
}

export const NVIDIA_VENDOR = '0x10de';

/** NVIDIA display/3D controller (Kata: vendor 0x10de and class containing `0x030`). */
export function isNvidiaGpu(fn: Pick<PciFunction, 'vendor' | 'class'>): boolean {
  return fn.vendor.toLowerCase() === NVIDIA_VENDOR && fn.class.toLowerCase().startsWith('0x030');
}
