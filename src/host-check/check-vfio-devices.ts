/**
 * NVIDIA GPUs (class 0x0300/0x0302) and NVSwitches (0x0680) and their binding to vfio-pci, from the CDI generator's
 * sysfs scan. One summary line per kind, plus a warning per device that cannot be passed through, with the exact
 * commands that fix it.
 */
import fs from 'node:fs';
import { classifyFunction, type VfioDeviceKind } from '../../cdi/generator/index.js';
import { readPciFunction } from '../devices/index.js';
import { iommuFix } from './check-iommu.js';
import { result, type CheckContext, type CheckResult } from './types.js';

interface FoundDevice {
  bdf: string;
  kind: VfioDeviceKind;
  /** `10de:2330`. */
  id: string;
  /** Set when the device is not usable: bound elsewhere, unbound, or without an IOMMU group. */
  problem?: { driver: string | undefined; reason: string };
}

const KIND_NAME: Record<VfioDeviceKind, string> = { gpu: 'GPU', nvswitch: 'NVSwitch' };
const KIND_PLURAL: Record<VfioDeviceKind, string> = { gpu: 'GPUs', nvswitch: 'NVSwitches' };
const hex = (s: string): string => s.toLowerCase().replace(/^0x/, '');

function driverOf(ctx: CheckContext, bdf: string): string | undefined {
  try {
    return fs
      .readlinkSync(ctx.host.path(`/sys/bus/pci/devices/${bdf}/driver`))
      .split('/')
      .pop();
  } catch {
    return undefined;
  }
}

/** Every NVIDIA GPU/NVSwitch, usable or not; or the reason sysfs could not be scanned. */
export function foundDevices(ctx: CheckContext): FoundDevice[] | { error: string } {
  const pci = ctx.pci;
  if ('error' in pci) return pci;
  const out: FoundDevice[] = pci.functions.map((f) => ({ bdf: f.bdf, kind: f.kind, id: `${f.vendor}:${f.device}` }));
  for (const s of pci.skipped) {
    let fn;
    try {
      fn = readPciFunction({ sysfs: ctx.host.path('/sys') }, s.bdf);
    } catch {
      continue;
    }
    const kind = classifyFunction(fn.vendor, Number.parseInt(fn.class, 16));
    if (!kind) continue;
    out.push({
      bdf: s.bdf,
      kind,
      id: `${hex(fn.vendor)}:${hex(fn.device)}`,
      problem: { driver: driverOf(ctx, s.bdf), reason: s.reason },
    });
  }
  return out;
}

/** The commands that move `bdf` to vfio-pci (paths are the real host's, not the --root tree's). */
export function bindCommands(bdf: string, driver: string | undefined): string {
  const dev = `/sys/bus/pci/devices/${bdf}`;
  const steps = [
    ...(driver?.startsWith('nvidia') ? ['systemctl stop nvidia-persistenced nvidia-fabricmanager'] : []),
    'modprobe vfio-pci',
    `echo vfio-pci > ${dev}/driver_override`,
    ...(driver ? [`echo ${bdf} > ${dev}/driver/unbind`] : []),
    `echo ${bdf} > /sys/bus/pci/drivers/vfio-pci/bind`,
  ];
  return steps.join('; ');
}

function deviceWarning(ctx: CheckContext, d: FoundDevice): CheckResult {
  const p = d.problem!;
  const what = `${KIND_NAME[d.kind]} ${d.bdf} (${d.id})`;
  if (p.driver === 'vfio-pci') {
    return result(
      `${d.kind} ${d.bdf}`,
      'warn',
      `${what} is bound to vfio-pci but unusable: ${p.reason}`,
      iommuFix(ctx),
    );
  }
  const state = p.driver ? `is bound to ${p.driver}, not vfio-pci` : 'is not bound to any driver';
  return result(`${d.kind} ${d.bdf}`, 'warn', `${what} ${state}`, bindCommands(d.bdf, p.driver));
}

function summary(ctx: CheckContext, kind: VfioDeviceKind, devices: FoundDevice[]): CheckResult {
  const name = kind === 'gpu' ? 'gpus' : 'nvswitches';
  const plural = KIND_PLURAL[kind];
  const usable = devices.filter((d) => !d.problem);
  const list = (ds: FoundDevice[]): string => ds.map((d) => d.bdf).join(', ');
  if (!ctx.needs.gpus) {
    return result(name, 'skip', `not used by ${ctx.flavour} (${devices.length} NVIDIA ${plural} present)`);
  }
  if (devices.length === 0) {
    if (kind === 'nvswitch') return result(name, 'skip', 'no NVSwitch present (only HGX/DGX baseboards have them)');
    return result(
      name,
      'fail',
      'no NVIDIA GPU (vendor 0x10de, class 0x0300/0x0302) in /sys/bus/pci/devices',
      `${ctx.flavour} passes GPUs through; on a host without GPUs use ${ctx.needs.tee === 'none' ? 'qemu-coco-dev' : `qemu-${ctx.needs.tee}`}`,
    );
  }
  if (usable.length === 0) {
    const status = kind === 'gpu' ? 'fail' : 'warn';
    return result(
      name,
      status,
      `none of the ${devices.length} NVIDIA ${plural} (${list(devices)}) is usable through vfio-pci`,
      `bind them to vfio-pci: see the ${kind} lines below`,
    );
  }
  const of = usable.length === devices.length ? `${usable.length}` : `${usable.length} of ${devices.length}`;
  return result(name, 'ok', `${of} NVIDIA ${plural} bound to vfio-pci: ${list(usable)}`);
}

export function checkVfioDevices(ctx: CheckContext): CheckResult[] {
  const devices = foundDevices(ctx);
  if ('error' in devices) {
    const status = ctx.needs.gpus ? 'fail' : 'skip';
    return [
      result(
        'gpus',
        status,
        `cannot scan PCI devices: ${devices.error}`,
        ctx.needs.gpus ? 'run ccgpu check on the host, with /sys mounted' : '',
      ),
    ];
  }
  const out: CheckResult[] = [];
  for (const kind of ['gpu', 'nvswitch'] as const) {
    const ofKind = devices.filter((d) => d.kind === kind);
    out.push(summary(ctx, kind, ofKind));
    if (ctx.needs.gpus) for (const d of ofKind) if (d.problem) out.push(deviceWarning(ctx, d));
  }
  return out;
}
