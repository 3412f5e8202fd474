/** /proc/cpuinfo: vendor, model name and feature flags of the first processor (x86). */

export type CpuVendor = 'AuthenticAMD' | 'GenuineIntel';

export interface CpuInfo {
  /** `vendor_id`, e.g. `AuthenticAMD`; empty when absent. */
  vendor: string;
  modelName: string;
  flags: Set<string>;
}

/** Parses the first `processor` block. Throws when it has no `flags` line (not an x86 /proc/cpuinfo). */
export function parseCpuInfo(text: string): CpuInfo {
  const firstBlock = text.split(/\n\s*\n/).find((b) => /\S/.test(b)) ?? '';
  const fields = new Map<string, string>();
  for (const line of firstBlock.split('\n')) {
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    const key = line.slice(0, colon).trim();
    if (!fields.has(key)) fields.set(key, line.slice(colon + 1).trim());
  }
  const flags = fields.get('flags');
  if (flags === undefined)
    throw new Error('no "flags" line in the first processor block (expected an x86 /proc/cpuinfo)');
  return {
    vendor: fields.get('vendor_id') ?? '',
    modelName: fields.get('model name') ?? '',
    flags: new Set(flags.split(/\s+/).filter(Boolean)),
  };
}

export function isAmd(cpu: CpuInfo): boolean {
  return cpu.vendor === 'AuthenticAMD';
}

export function isIntel(cpu: CpuInfo): boolean {
  return cpu.vendor === 'GenuineIntel';
}

/** The CPU reports the `hypervisor` flag: this host is itself a virtual machine. */
export function isVirtualMachine(cpu: CpuInfo): boolean {
  return cpu.flags.has('hypervisor');
}
