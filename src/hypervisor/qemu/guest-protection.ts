/**
 * Host guest-protection detection (Kata `availableGuestProtection`, amd64): TDX when
 * `/sys/module/kvm_intel/parameters/tdx` starts with `Y`, else SNP when `/sys/module/kvm_amd/parameters/sev_snp` does,
 * else none. SEV (non-SNP) is chosen only on an SNP host with `sev_snp_guest = false`.
 */
import fs from 'node:fs';
import path from 'node:path';
import { HypervisorError } from '../../errors/index.js';

export type HostProtection = 'tdx' | 'snp' | 'none';
export type GuestProtection = 'tdx' | 'snp' | 'sev' | 'none';

function startsWithY(file: string): boolean {
  try {
    return fs.readFileSync(file, 'utf8').startsWith('Y');
  } catch {
    return false;
  }
}

export function detectHostProtection(sysfs = '/sys'): HostProtection {
  if (startsWithY(path.join(sysfs, 'module/kvm_intel/parameters/tdx'))) return 'tdx';
  if (startsWithY(path.join(sysfs, 'module/kvm_amd/parameters/sev_snp'))) return 'snp';
  return 'none';
}

/** The protection a sandbox gets, or an error when a confidential guest is asked for on a host without any. */
export function guestProtectionFor(
  host: HostProtection,
  opts: { confidentialGuest: boolean; sevSnpGuest: boolean },
): GuestProtection {
  if (!opts.confidentialGuest) return 'none';
  if (host === 'none') {
    throw new HypervisorError(
      "This system doesn't support Confidential Computing (Guest Protection): neither /sys/module/kvm_intel/parameters/tdx nor /sys/module/kvm_amd/parameters/sev_snp reports Y",
    );
  }
  if (host === 'snp') return opts.sevSnpGuest ? 'snp' : 'sev';
  return 'tdx';
}
