/** Shapes shared by every host readiness check. */
import type { Logger } from 'pino';
import type { PciScanResult } from '../../cdi/generator/index.js';
import type { Flavour, LoadedConfig } from '../config/index.js';
import type { HostProtection } from '../hypervisor/qemu/index.js';
import type { CpuInfo } from './cpuinfo.js';
import type { FlavourNeeds } from './flavour-needs.js';
import type { HostRoot } from './host-root.js';
import type { QemuVersionProbe } from './qemu-version.js';

/** `skip`: the check does not apply to this flavour (the detail still says what the host has). */
export type CheckStatus = 'ok' | 'warn' | 'fail' | 'skip';

export interface CheckResult {
  /** Short name, e.g. `kvm`, `snp`, `gpu 0000:18:00.0`. */
  check: string;
  status: CheckStatus;
  /** What was found. */
  detail: string;
  /** What to do about a `warn`/`fail`; empty when nothing is to be done. */
  fix: string;
}

/** Everything a check may look at; built once per flavour by `checkHost`. */
export interface CheckContext {
  host: HostRoot;
  flavour: Flavour;
  needs: FlavourNeeds;
  loaded: LoadedConfig;
  /** Parsed /proc/cpuinfo, or the reason it could not be read. */
  cpu: CpuInfo | { error: string };
  /** NVIDIA GPUs/NVSwitches from sysfs (cdi/generator), or the reason the scan failed. */
  pci: PciScanResult | { error: string };
  /** What Kata's detection (src/hypervisor/qemu) sees on this host. */
  protection: HostProtection;
  qemuVersion: QemuVersionProbe;
  logger?: Logger;
}

export type HostCheck = (ctx: CheckContext) => CheckResult[] | Promise<CheckResult[]>;

export function result(check: string, status: CheckStatus, detail: string, fix = ''): CheckResult {
  return { check, status, detail, fix };
}
