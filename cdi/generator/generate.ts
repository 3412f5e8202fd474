/**
 * The VFIO CDI spec generator: `nvidia.com/pgpu` and `nvidia.com/nvswitch` specs (or per-model kinds) for NVIDIA
 * GPUs and NVSwitches bound to vfio-pci, in the shape NVIDIA's sandbox-device-plugin writes, so that kubelet
 * device IDs (IOMMU keys) are CDI device names.
 *
 * Differences from the plugin, on purpose:
 * - functions that share an IOMMU group become ONE device entry holding all of them (the plugin emits one entry
 *   per function with the same name, and its spec write fails with "multiple device");
 * - a model whose pci.ids name is not a valid CDI class gets `GPU_<VENDOR>_<DEVICE>` / `NVSWITCH_…`, not the bare
 *   hex ID (which starts with a digit and is an invalid class);
 * - the specs are validated before anything is written, and written all-or-nothing.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';
import { naturalCompare } from '../closest-names.js';
import { CdiError, messageOf } from '../errors.js';
import { validateClassName, validateVendorName } from '../qualified-name.js';
import { loadSpec } from '../spec.js';
import { specFileName, specToYaml, writeSpecFiles } from '../spec-writer.js';
import type { CdiDevice, CdiSpec, DeviceNode } from '../types.js';
import { minimumRequiredVersion } from '../version.js';
import { modelClass } from './model-class.js';
import { pciNameSource } from './pci-ids.js';
import { scanVfioPciFunctions, type VfioDeviceKind, type VfioPciFunction } from './pci-scan.js';

export const DEFAULT_GPU_ALIAS = 'pgpu';
export const DEFAULT_NVSWITCH_ALIAS = 'nvswitch';

export interface GenerateOptions {
  /** Root of the host filesystem holding `sys/` and `dev/` (default "/"). */
  root?: string;
  /** pci.ids to use (default: the first of PCI_IDS_PATHS, then the embedded table). */
  pciIdsPath?: string;
  /** Environment with P_GPU_ALIAS / NVSWITCH_ALIAS (default process.env). Unset → pgpu / nvswitch; "" → per model. */
  env?: Readonly<Record<string, string | undefined>>;
  /** CDI vendor (default nvidia.com). */
  vendor?: string;
  logger?: Logger;
}

export interface GeneratedSpec {
  kind: string;
  /** File name inside the output directory: `<vendor>-<class>.yaml`. */
  fileName: string;
  spec: CdiSpec;
  yaml: string;
  /** The PCI functions behind each device name. */
  functions: Record<string, VfioPciFunction[]>;
}

export interface GenerateResult {
  iommufd: boolean;
  specs: GeneratedSpec[];
  /** Things a user should know: skipped devices, missing nodes. */
  warnings: string[];
}

function aliasFor(
  env: Readonly<Record<string, string | undefined>>,
  variable: string,
  dflt: string,
): string | undefined {
  const v = env[variable];
  if (v === undefined) return dflt;
  if (v === '') return undefined; // per-model kinds
  const err = validateClassName(v);
  if (err) throw new CdiError(`invalid ${variable} ${JSON.stringify(v)}: it must be a valid CDI class: ${err}`);
  return v;
}

/** One device entry per IOMMU key; functions sharing an IOMMU group are merged into one entry. */
function deviceEntries(
  functions: VfioPciFunction[],
  iommufd: boolean,
  root: string,
  warnings: string[],
): { devices: CdiDevice[]; byName: Record<string, VfioPciFunction[]> } {
  const groups = new Map<number, VfioPciFunction[]>();
  for (const f of functions) groups.set(f.iommuGroup, [...(groups.get(f.iommuGroup) ?? []), f]);
  const entries: { name: string; nodes: DeviceNode[]; fns: VfioPciFunction[] }[] = [];
  for (const [group, fns] of groups) {
    if (fns.length > 1) {
      warnings.push(
        `${fns.map((f) => f.bdf).join(', ')} share IOMMU group ${group}: they are one CDI device and are always assigned together`,
      );
    }
    const nodePaths = iommufd
      ? fns.map((f) => `/dev/vfio/devices/vfio${f.vfioCdev!}`)
      : ['/dev/vfio/vfio', `/dev/vfio/${group}`];
    const name = iommufd ? String(Math.min(...fns.map((f) => f.vfioCdev!))) : String(group);
    for (const p of nodePaths) {
      if (!fs.existsSync(path.join(root, p)))
        warnings.push(`${p} (for ${fns.map((f) => f.bdf).join(', ')}) does not exist`);
    }
    entries.push({ name, nodes: nodePaths.map((p) => ({ path: p })), fns });
  }
  entries.sort((a, b) => naturalCompare(a.name, b.name));
  return {
    devices: entries.map((e) => ({ name: e.name, containerEdits: { deviceNodes: e.nodes } })),
    byName: Object.fromEntries(entries.map((e) => [e.name, e.fns])),
  };
}

/** Scans sysfs and builds the specs (validated, not written). */
export function generateVfioSpecs(opts: GenerateOptions = {}): GenerateResult {
  const root = opts.root ?? '/';
  const env = opts.env ?? process.env;
  const vendor = opts.vendor ?? 'nvidia.com';
  const vendorErr = validateVendorName(vendor);
  if (vendorErr) throw new CdiError(`invalid CDI vendor ${JSON.stringify(vendor)}: ${vendorErr}`);
  const aliases: Record<VfioDeviceKind, string | undefined> = {
    gpu: aliasFor(env, 'P_GPU_ALIAS', DEFAULT_GPU_ALIAS),
    nvswitch: aliasFor(env, 'NVSWITCH_ALIAS', DEFAULT_NVSWITCH_ALIAS),
  };
  const scan = scanVfioPciFunctions(root);
  const warnings = scan.skipped.map((s) => `${s.bdf} skipped: ${s.reason}`);
  const usable = scan.functions.filter((f) => {
    if (scan.iommufd && f.vfioCdev === undefined) {
      warnings.push(`${f.bdf} skipped: IOMMUFD host but the function has no vfio-dev/vfioN cdev`);
      return false;
    }
    return true;
  });
  const names = usable.some((f) => aliases[f.kind] === undefined) ? pciNameSource(opts.pciIdsPath) : undefined;

  // class → functions, keeping kinds apart so a GPU and an NVSwitch alias clash is reported
  const byClass = new Map<string, { kind: VfioDeviceKind; fns: VfioPciFunction[] }>();
  for (const f of usable) {
    const cls =
      aliases[f.kind] ??
      modelClass(names!.deviceName(f.vendor, f.device), f.vendor, f.device, f.kind === 'gpu' ? 'GPU' : 'NVSWITCH');
    const slot = byClass.get(cls);
    if (slot && slot.kind !== f.kind) {
      throw new CdiError(
        `GPUs and NVSwitches would share the CDI kind ${vendor}/${cls}: set P_GPU_ALIAS and NVSWITCH_ALIAS to different values`,
      );
    }
    if (slot) slot.fns.push(f);
    else byClass.set(cls, { kind: f.kind, fns: [f] });
  }

  const specs: GeneratedSpec[] = [];
  for (const [cls, { fns }] of [...byClass].sort(([a], [b]) => a.localeCompare(b))) {
    const { devices, byName } = deviceEntries(fns, scan.iommufd, root, warnings);
    const draft: CdiSpec = { cdiVersion: '', kind: `${vendor}/${cls}`, devices };
    const spec: CdiSpec = { cdiVersion: minimumRequiredVersion(draft), kind: draft.kind, devices };
    try {
      loadSpec(spec);
    } catch (e) {
      throw new CdiError(`generated CDI spec for ${spec.kind} is invalid: ${messageOf(e)}`, { cause: e });
    }
    specs.push({ kind: spec.kind, fileName: specFileName(spec), spec, yaml: specToYaml(spec), functions: byName });
  }
  for (const w of warnings) opts.logger?.warn(w);
  return { iommufd: scan.iommufd, specs, warnings };
}

/** Writes generated specs into `outputDir` (all-or-nothing). Returns the written paths. */
export function writeVfioSpecs(result: GenerateResult, outputDir: string): string[] {
  return writeSpecFiles(
    outputDir,
    result.specs.map((s) => ({ name: s.fileName, spec: s.spec })),
  );
}
