/**
 * `checkHost`: runs every check for each requested flavour against a host (the real one or a `--root` fixture tree).
 */
import type { Logger } from 'pino';
import { scanVfioPciFunctions } from '../../cdi/generator/index.js';
import {
  FLAVOURS,
  loadConfig,
  loadConfigFile,
  shippedConfigPath,
  type Flavour,
  type LoadedConfig,
} from '../config/index.js';
import { errorMessage } from '../errors/index.js';
import { detectHostProtection } from '../hypervisor/qemu/index.js';
import { checkCpu } from './check-cpu.js';
import { checkGuestAssets } from './check-guest-assets.js';
import { checkIommu } from './check-iommu.js';
import { checkIommufd } from './check-iommufd.js';
import { checkKvm } from './check-kvm.js';
import { checkKvmModules } from './check-kvm-modules.js';
import { checkQemu } from './check-qemu.js';
import { checkSnp } from './check-snp.js';
import { checkTdx } from './check-tdx.js';
import { checkVfioDevices } from './check-vfio-devices.js';
import { checkVhostVsock } from './check-vhost-vsock.js';
import { parseCpuInfo } from './cpuinfo.js';
import { flavourNeeds, inferFlavour, type FlavourNeeds, type FlavourSource } from './flavour-needs.js';
import { HostRoot } from './host-root.js';
import { qemuVersionProbe, type QemuVersionProbe } from './qemu-version.js';
import { result, type CheckContext, type CheckResult, type HostCheck } from './types.js';

/** In report order. */
export const HOST_CHECKS: readonly HostCheck[] = [
  checkCpu,
  checkKvm,
  checkKvmModules,
  checkSnp,
  checkTdx,
  checkIommu,
  checkVfioDevices,
  checkIommufd,
  checkVhostVsock,
  checkQemu,
  checkGuestAssets,
];

export interface HostCheckOptions {
  /** Host root: `/` (default) or a fixture tree holding proc/, sys/, dev/ and the asset paths. */
  root?: string;
  /** Flavours to check. Each uses its shipped configuration unless `configFile` is given (one flavour only). */
  flavours?: readonly Flavour[];
  /** Check all six shipped flavours. */
  all?: boolean;
  /** Configuration file; without it and without flavours, the effective one (env, /etc, shipped default). */
  configFile?: string;
  logger?: Logger;
  /** For tests: how `qemu --version` is obtained. */
  qemuVersion?: QemuVersionProbe;
}

export interface FlavourReport {
  flavour: Flavour;
  /** How the flavour was chosen. */
  flavourSource: FlavourSource;
  needs: FlavourNeeds;
  /** The configuration file checked (undefined when it could not be loaded). */
  config?: string;
  ok: boolean;
  results: CheckResult[];
}

export interface HostCheckReport {
  root: string;
  ok: boolean;
  flavours: FlavourReport[];
}

interface Target {
  flavour?: Flavour;
  configFile?: string;
}

function targets(opts: HostCheckOptions): Target[] {
  const flavours = opts.all ? [...FLAVOURS] : [...new Set(opts.flavours ?? [])];
  if (opts.configFile !== undefined && flavours.length > 1) {
    throw new Error(
      '--config names one configuration; check several flavours with --flavour/--all and their shipped configurations',
    );
  }
  if (flavours.length === 0) return [{ configFile: opts.configFile }];
  return flavours.map((flavour) => ({ flavour, configFile: opts.configFile ?? shippedConfigPath(flavour) }));
}

function load(t: Target, logger: Logger | undefined): LoadedConfig {
  return t.configFile !== undefined ? loadConfigFile(t.configFile, { logger }) : loadConfig({ logger });
}

export async function checkHost(opts: HostCheckOptions = {}): Promise<HostCheckReport> {
  const host = new HostRoot(opts.root ?? '/');
  const protection = detectHostProtection(host.path('/sys'));
  const qemuVersion = opts.qemuVersion ?? qemuVersionProbe();
  let cpu: CheckContext['cpu'];
  try {
    const text = host.read('/proc/cpuinfo');
    cpu = text === undefined ? { error: `${host.path('/proc/cpuinfo')} cannot be read` } : parseCpuInfo(text);
  } catch (e) {
    cpu = { error: errorMessage(e) };
  }
  let pci: CheckContext['pci'];
  try {
    pci = scanVfioPciFunctions(host.dir);
  } catch (e) {
    pci = { error: errorMessage(e) };
  }

  const reports: FlavourReport[] = [];
  for (const t of targets(opts)) {
    let loaded: LoadedConfig;
    try {
      loaded = load(t, opts.logger);
    } catch (e) {
      const flavour = t.flavour ?? 'qemu-nvidia-gpu-snp';
      reports.push({
        flavour,
        flavourSource: t.flavour ? 'option' : 'config',
        needs: flavourNeeds(flavour),
        ok: false,
        results: [result('config', 'fail', errorMessage(e), 'fix the configuration file, or name one with --config')],
      });
      continue;
    }
    const chosen = t.flavour
      ? { flavour: t.flavour, source: 'option' as const }
      : inferFlavour(loaded.file, loaded.config, protection);
    const ctx: CheckContext = {
      host,
      flavour: chosen.flavour,
      needs: flavourNeeds(chosen.flavour),
      loaded,
      cpu,
      pci,
      protection,
      qemuVersion,
      logger: opts.logger,
    };
    const results: CheckResult[] = [
      result('config', 'ok', `${loaded.file}${loaded.dropIns.length ? ` + ${loaded.dropIns.length} drop-in(s)` : ''}`),
    ];
    for (const check of HOST_CHECKS) {
      try {
        results.push(...(await check(ctx)));
      } catch (e) {
        // A check that throws is a bug in it; report it as a failure rather than a pass (fail closed).
        results.push(
          result(
            check.name.replace(/^check/, '').toLowerCase() || 'check',
            'fail',
            `check crashed: ${errorMessage(e)}`,
            'report this as a ccgpu bug',
          ),
        );
      }
    }
    reports.push({
      flavour: chosen.flavour,
      flavourSource: chosen.source,
      needs: ctx.needs,
      config: loaded.file,
      ok: !results.some((r) => r.status === 'fail'),
      results,
    });
  }
  return { root: host.dir, ok: reports.every((r) => r.ok), flavours: reports };
}
