/**
 * Which attester this guest uses: SEV-SNP or TDX when the guest device (/dev/sev-guest, /dev/tdx_guest) or the
 * configfs-tsm provider says so; the INSECURE sample attester only when explicitly allowed (development machines).
 * Nothing found and sample not allowed is an error: a confidential guest never silently falls back to software.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { AttesterError, type Attester } from './attester.js';
import { realConfigfs, TSM_REPORT_ROOT, type TsmOptions } from './configfs-tsm.js';
import { SEV_GUEST_DEVICE, TDX_GUEST_DEVICE, type GuestDeviceIoctl } from './ioctl-abi.js';
import { SampleAttester } from './sample-attester.js';
import { SnpAttester } from './snp-attester.js';
import { TdxAttester } from './tdx-attester.js';

export interface DetectOptions extends TsmOptions {
  /** The native ioctl fallback (native/index.ts `guestDeviceIoctl`). */
  ioctl?: GuestDeviceIoctl;
  /** Allow the software-only sample attester when no TEE is found (INSECURE; development only). */
  allowSample?: boolean;
  initdataDigest?: Buffer;
  /** Existence check for device nodes (tests). */
  exists?: (p: string) => Promise<boolean>;
  sevGuestDevice?: string;
  tdxGuestDevice?: string;
}

const defaultExists = async (p: string): Promise<boolean> =>
  fs.access(p).then(
    () => true,
    () => false,
  );

/** The configfs-tsm provider name (`sev_guest`, `tdx_guest`), read from a short-lived probe entry. */
export async function tsmProvider(opts: TsmOptions = {}): Promise<string | undefined> {
  const ops = opts.ops ?? realConfigfs;
  const dir = path.join(opts.root ?? TSM_REPORT_ROOT, `ccgpu-probe-${process.pid}-${randomBytes(4).toString('hex')}`);
  try {
    await ops.mkdir(dir);
  } catch {
    return undefined;
  }
  try {
    return (await ops.readFile(path.join(dir, 'provider'))).toString('utf8').trim();
  } catch {
    return undefined;
  } finally {
    await ops.rmdir(dir).catch(() => undefined);
  }
}

export async function detectAttester(opts: DetectOptions = {}): Promise<Attester> {
  const exists = opts.exists ?? defaultExists;
  const sevDev = opts.sevGuestDevice ?? SEV_GUEST_DEVICE;
  const tdxDev = opts.tdxGuestDevice ?? TDX_GUEST_DEVICE;
  const provider = await tsmProvider(opts);
  const common = {
    ...(opts.root ? { root: opts.root } : {}),
    ...(opts.ops ? { ops: opts.ops } : {}),
    ...(opts.ioctl ? { ioctl: opts.ioctl } : {}),
  };
  if (provider === 'sev_guest' || (await exists(sevDev))) return new SnpAttester({ ...common, device: sevDev });
  if (provider === 'tdx_guest' || (await exists(tdxDev))) return new TdxAttester({ ...common, device: tdxDev });
  if (provider)
    throw new AttesterError(
      `configfs-tsm provider "${provider}" is not supported (expected sev_guest or tdx_guest)`,
      provider,
    );
  if (opts.allowSample) return new SampleAttester(opts.initdataDigest ? { initdataDigest: opts.initdataDigest } : {});
  throw new AttesterError(
    `no TEE found: neither ${sevDev} nor ${tdxDev} exists and configfs-tsm (${opts.root ?? TSM_REPORT_ROOT}) has no provider; ` +
      'the sample attester (software only, INSECURE) must be allowed explicitly',
    'none',
  );
}
