/**
 * What a flavour needs from the host, and which flavour a configuration file is when the user did not say.
 */
import path from 'node:path';
import { FLAVOURS, isFlavour, type Flavour, type RuntimeConfig } from '../config/index.js';
import type { HostProtection } from '../hypervisor/qemu/index.js';

export type Tee = 'snp' | 'tdx' | 'none';

export interface FlavourNeeds {
  /** The TEE the guest runs in. */
  tee: Tee;
  /** GPUs (and NVSwitches) are passed through with VFIO. */
  gpus: boolean;
}

export function flavourNeeds(flavour: Flavour): FlavourNeeds {
  const tee: Tee = flavour.endsWith('-snp') ? 'snp' : flavour.endsWith('-tdx') ? 'tdx' : 'none';
  return { tee, gpus: flavour.startsWith('qemu-nvidia-gpu') };
}

export function flavourFor(needs: FlavourNeeds): Flavour {
  const found = FLAVOURS.find((f) => {
    const n = flavourNeeds(f);
    return n.tee === needs.tee && n.gpus === needs.gpus;
  });
  if (!found) throw new Error(`no flavour has tee=${needs.tee} gpus=${needs.gpus}`);
  return found;
}

export type FlavourSource = 'option' | 'file name' | 'config';

/**
 * The flavour of a configuration: from its file name (`configuration-<flavour>.toml`), else from its content
 * (`confidential_guest`, `sev_snp_guest`, firmware/QEMU names mentioning tdx/snp/sev, VFIO cold/hot plug). A
 * confidential config that names no TEE gets the one this host has (as the runtime would), SNP when it has none.
 */
export function inferFlavour(
  file: string,
  config: RuntimeConfig,
  protection: HostProtection,
): { flavour: Flavour; source: FlavourSource } {
  const m = /^configuration-(.+)\.toml$/.exec(path.basename(file));
  if (m && isFlavour(m[1]!)) return { flavour: m[1], source: 'file name' };
  const q = config.hypervisor;
  const gpus = q.coldPlugVfio !== 'no-port' || q.hotPlugVfio !== 'no-port';
  let tee: Tee = 'none';
  if (q.confidentialGuest) {
    const names = `${path.basename(q.firmware)} ${path.basename(q.path)}`.toLowerCase();
    if (q.sevSnpGuest || /snp|sev/.test(names)) tee = 'snp';
    else if (/tdx/.test(names)) tee = 'tdx';
    else tee = protection === 'tdx' ? 'tdx' : 'snp';
  }
  return { flavour: flavourFor({ tee, gpus }), source: 'config' };
}
