/** Shared helpers for launch-plan / command-line tests: shipped configs, fixture hosts, CDI spec dirs. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import {
  applyAnnotations,
  loadConfigFile,
  shippedConfigPath,
  type LoadedConfig,
  type RuntimeConfig,
} from '../../../src/config/index.js';
import { hostPathsFromRoot } from '../../../src/devices/index.js';
import { planSandboxLaunch, type LaunchPlan, type LaunchPlanInput } from '../../../src/sandbox/launch-plan.js';
import { writeHostTree, VFIO_CDEV_MAJOR, type HostModel } from '../../fixtures/sysfs/host-model.js';
import type { GuestProtection } from '../../../src/hypervisor/qemu/index.js';

export const SANDBOX = 'sb';
const temps: string[] = [];
export function tempDir(prefix = 'ccgpu-plan-'): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  temps.push(d);
  return d;
}
export function cleanupTemps(): void {
  for (const d of temps.splice(0)) fs.rmSync(d, { recursive: true, force: true });
}

export function flavourConfig(flavour: string, edit?: (c: RuntimeConfig) => void): LoadedConfig {
  const loaded = loadConfigFile(shippedConfigPath(flavour as never));
  const config = structuredClone(loaded.config);
  edit?.(config);
  return { ...loaded, config };
}

/** A CDI spec dir holding one spec per kind: `{ 'nvidia.com/pgpu': { '0': 0 } }` maps device name → vfio cdev N. */
export function cdiDir(kinds: Record<string, Record<string, number | string>>): string {
  const dir = tempDir('ccgpu-cdi-');
  for (const [kind, devices] of Object.entries(kinds)) {
    const spec = {
      cdiVersion: '0.5.0',
      kind,
      devices: Object.entries(devices).map(([name, n]) => ({
        name,
        containerEdits: {
          deviceNodes:
            typeof n === 'number'
              ? [{ path: `/dev/vfio/devices/vfio${n}`, type: 'c', major: VFIO_CDEV_MAJOR, minor: n }]
              : [
                  { path: '/dev/vfio/vfio', type: 'c', major: 10, minor: 196 },
                  { path: `/dev/vfio/${n}`, type: 'c', major: 243, minor: Number(n) },
                ],
        },
      })),
    };
    fs.writeFileSync(path.join(dir, `${kind.replace('/', '-')}.json`), JSON.stringify(spec));
  }
  return dir;
}

export function fixtureHost(model: HostModel): string {
  const root = tempDir('ccgpu-host-');
  writeHostTree(root, model);
  return root;
}

export interface PlanOptions {
  flavour?: string;
  edit?: (c: RuntimeConfig) => void;
  annotations?: Record<string, string>;
  podResourceNames?: string[];
  cdi?: string;
  root?: string;
  protection?: GuestProtection;
  qgs?: boolean;
  linuxDevices?: NonNullable<NonNullable<LaunchPlanInput['spec']['linux']>['devices']>;
}

export function plan(o: PlanOptions = {}): LaunchPlan {
  const loaded = applyAnnotations(flavourConfig(o.flavour ?? 'qemu-nvidia-gpu-snp', o.edit), o.annotations ?? {});
  return planSandboxLaunch({
    sandboxId: SANDBOX,
    loaded,
    spec: { ociVersion: '1.1.0', annotations: o.annotations ?? {}, linux: { devices: o.linuxDevices ?? [] } },
    host: hostPathsFromRoot(o.root ?? tempDir()),
    protection: o.protection ?? 'snp',
    cbitpos: 51,
    runDir: `/run/ccgpu/${SANDBOX}`,
    hostMemoryMiB: 262144,
    tdxQgsSocketPresent: o.qgs ?? false,
    qmpFd: 3,
    vsock: { vhostFd: 4, cid: 3 },
    podResourceNames: o.podResourceNames,
    cdiSpecDirs: o.cdi ? [o.cdi] : [tempDir()],
  });
}

/** Value following `flag` each time it appears. */
export function values(args: string[], flag: string): string[] {
  return args.flatMap((a, i) => (a === flag && i + 1 < args.length ? [args[i + 1]!] : []));
}

export function initdataAnnotation(toml: string): string {
  return gzipSync(Buffer.from(toml)).toString('base64');
}
