/**
 * PCI device names from the pci.ids database (Debian: package `pci.ids`, pulled in by `pciutils`), with an embedded
 * fallback for NVIDIA data-center GPUs and NVSwitches when no database is installed or it predates the device.
 */
import fs from 'node:fs';
import { NVIDIA_DATACENTER_MODELS } from './nvidia-models.js';

/** Where pci.ids is looked for, first match wins (the order go-nvlib uses). */
export const PCI_IDS_PATHS: readonly string[] = [
  '/usr/share/misc/pci.ids',
  '/usr/local/share/pci.ids',
  '/usr/share/hwdata/pci.ids',
  '/usr/share/pci.ids',
];

/** The first existing pci.ids among `candidates`, or undefined. */
export function findPciIdsFile(candidates: readonly string[] = PCI_IDS_PATHS): string | undefined {
  return candidates.find((p) => {
    try {
      return fs.statSync(p).isFile();
    } catch {
      return false;
    }
  });
}

/**
 * Device names of one vendor from pci.ids text: `vendor` and keys are 4 lower-case hex digits without `0x`.
 * Subsystem lines (two tabs) and the class section (`C xx`) are ignored.
 */
export function parsePciIds(text: string, vendor: string): Map<string, string> {
  const names = new Map<string, string>();
  let inVendor = false;
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    if (!line.startsWith('\t')) {
      if (inVendor) break; // vendors are contiguous blocks
      inVendor = line.slice(0, 4).toLowerCase() === vendor && /^[0-9a-fA-F]{4}\s/.test(line);
      continue;
    }
    if (!inVendor || line.startsWith('\t\t')) continue;
    const m = /^\t([0-9a-fA-F]{4})\s+(.*?)\s*$/.exec(line);
    if (m) names.set(m[1]!.toLowerCase(), m[2]!);
  }
  return names;
}

export interface PciNameSource {
  /** Name of a device (vendor/device as 4 hex digits, no 0x), or "" when unknown. */
  deviceName(vendor: string, device: string): string;
  /** The pci.ids file in use, if any. */
  readonly file?: string;
}

/**
 * Names from `file` (or the first of PCI_IDS_PATHS), falling back to the embedded NVIDIA table for devices the
 * database does not list. An explicit `file` that cannot be read is an error.
 */
export function pciNameSource(file?: string): PciNameSource {
  const path = file ?? findPciIdsFile();
  let text = '';
  if (path !== undefined) {
    try {
      text = fs.readFileSync(path, 'utf8');
    } catch (e) {
      throw new Error(`cannot read pci.ids ${JSON.stringify(path)}: ${(e as Error).message}`);
    }
  }
  const cache = new Map<string, Map<string, string>>();
  return {
    ...(path !== undefined ? { file: path } : {}),
    deviceName(vendor: string, device: string): string {
      const v = vendor.toLowerCase().replace(/^0x/, '');
      const d = device.toLowerCase().replace(/^0x/, '');
      let table = cache.get(v);
      if (!table) {
        table = parsePciIds(text, v);
        cache.set(v, table);
      }
      return table.get(d) ?? (v === '10de' ? (NVIDIA_DATACENTER_MODELS[d] ?? '') : '');
    },
  };
}
