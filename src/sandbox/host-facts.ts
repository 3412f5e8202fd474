/** Facts about the host that the launch plan needs, read once per sandbox. */
import fs from 'node:fs';
import path from 'node:path';
import {
  detectHostProtection,
  guestProtectionFor,
  TDX_QGS_SOCKET,
  type GuestProtection,
} from '../hypervisor/qemu/index.js';
import type { RuntimeConfig } from '../config/index.js';

/** Default C-bit position on Milan/Genoa/Turin when CPUID cannot be read (and in dry runs). */
export const DEFAULT_CBITPOS = 51;

export function hostMemoryMiB(meminfo = '/proc/meminfo'): number {
  try {
    const m = /^MemTotal:\s+(\d+) kB/m.exec(fs.readFileSync(meminfo, 'utf8'));
    if (m) return Math.floor(Number(m[1]) / 1024);
  } catch {
    /* fall through */
  }
  return 0;
}

export interface ProtectionChoice {
  protection: GuestProtection;
  cbitpos: number;
  /** True when the TEE was forced by `--tee` instead of detected. */
  dryRun: boolean;
}

/** Detects the host's guest protection (or takes a forced TEE for a dry run) and the C-bit position. */
export function chooseProtection(
  config: RuntimeConfig,
  opts: { sysfs: string; forceTee?: 'snp' | 'tdx' },
): ProtectionChoice {
  const h = config.hypervisor;
  const cbitpos = h.snpCbitpos ?? DEFAULT_CBITPOS;
  if (opts.forceTee) {
    const protection = guestProtectionFor(opts.forceTee, {
      confidentialGuest: h.confidentialGuest,
      sevSnpGuest: h.sevSnpGuest,
    });
    return { protection, cbitpos, dryRun: true };
  }
  const host = detectHostProtection(opts.sysfs);
  return {
    protection: guestProtectionFor(host, { confidentialGuest: h.confidentialGuest, sevSnpGuest: h.sevSnpGuest }),
    cbitpos,
    dryRun: false,
  };
}

export function tdxQgsSocketPresent(root = '/'): boolean {
  return fs.existsSync(path.join(root, TDX_QGS_SOCKET));
}
