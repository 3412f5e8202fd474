/**
 * Linux guest-device ioctl ABI for the fallback path when configfs-tsm is absent: request numbers, argument structs
 * and their decoding. The calls themselves go through `GuestDeviceIoctl`, implemented by the native addon.
 *
 * /dev/sev-guest (include/uapi/linux/sev-guest.h):
 *   SNP_GET_REPORT = _IOWR('S', 0x0, struct snp_guest_request_ioctl)   (32 bytes:
 *     u8 msg_version, 7 pad, u64 req_data, u64 resp_data, u64 exitinfo2 {u32 fw_error, u32 vmm_error})
 *   struct snp_report_req  { u8 user_data[64]; u32 vmpl; u8 rsvd[28]; }          96 bytes
 *   struct snp_report_resp { u8 data[4000]; }  = MSG_REPORT_RSP: u32 status, u32 report_size, 24 rsvd, report @0x20
 * /dev/tdx_guest (include/uapi/linux/tdx-guest.h):
 *   TDX_CMD_GET_REPORT0 = _IOWR('T', 1, struct tdx_report_req { u8 reportdata[64]; u8 tdreport[1024]; })
 */
import { AttesterError } from './attester.js';

const IOC_NRBITS = 8;
const IOC_TYPEBITS = 8;
const IOC_SIZEBITS = 14;
const IOC_NRSHIFT = 0;
const IOC_TYPESHIFT = IOC_NRSHIFT + IOC_NRBITS;
const IOC_SIZESHIFT = IOC_TYPESHIFT + IOC_TYPEBITS;
const IOC_DIRSHIFT = IOC_SIZESHIFT + IOC_SIZEBITS;
const IOC_WRITE = 1;
const IOC_READ = 2;

/** `_IOWR(type, nr, size)` as an unsigned 32-bit number. */
export function iowr(type: string, nr: number, size: number): number {
  if (size >= 1 << IOC_SIZEBITS) throw new RangeError(`ioctl argument size ${size} does not fit in 14 bits`);
  return (
    (((IOC_READ | IOC_WRITE) << IOC_DIRSHIFT) |
      (size << IOC_SIZESHIFT) |
      (type.charCodeAt(0) << IOC_TYPESHIFT) |
      (nr << IOC_NRSHIFT)) >>>
    0
  );
}

export const SEV_GUEST_DEVICE = '/dev/sev-guest';
export const TDX_GUEST_DEVICE = '/dev/tdx_guest';

export const SNP_GUEST_REQUEST_IOCTL_SIZE = 32;
export const SNP_GET_REPORT = iowr('S', 0x0, SNP_GUEST_REQUEST_IOCTL_SIZE);
export const SNP_GET_EXT_REPORT = iowr('S', 0x2, SNP_GUEST_REQUEST_IOCTL_SIZE);
export const SNP_MSG_VERSION = 1;
export const SNP_REPORT_REQ_SIZE = 96;
export const SNP_REPORT_RESP_SIZE = 4000;
export const SNP_REPORT_SIZE = 0x4a0;
export const SNP_REPORT_OFFSET = 0x20;

export const TDX_REPORTDATA_LEN = 64;
export const TDX_REPORT_LEN = 1024;
export const TDX_REPORT_REQ_SIZE = TDX_REPORTDATA_LEN + TDX_REPORT_LEN;
export const TDX_CMD_GET_REPORT0 = iowr('T', 1, TDX_REPORT_REQ_SIZE);

/** What the native addon provides for the fallback path. Errors it throws carry `errno` (positive) and, for SNP, `exitinfo2`. */
export interface GuestDeviceIoctl {
  /**
   * Open `device`, issue SNP_GET_REPORT with `{msg_version, req_data = req, resp_data = resp}`; `resp` is filled in.
   * Returns exitinfo2 (0 on success).
   */
  snpGetReport(device: string, msgVersion: number, req: Buffer, resp: Buffer): Promise<bigint>;
  /** Open `device`, issue TDX_CMD_GET_REPORT0 with the flat 1088-byte `arg` (reportdata in, tdreport out). */
  tdxGetReport0(device: string, arg: Buffer): Promise<void>;
}

export function buildSnpReportReq(userData: Buffer, vmpl = 0): Buffer {
  if (userData.length !== 64) throw new AttesterError(`snp: user_data must be 64 bytes, got ${userData.length}`, 'snp');
  if (!Number.isInteger(vmpl) || vmpl < 0 || vmpl > 3)
    throw new AttesterError(`snp: vmpl must be 0..3, got ${vmpl}`, 'snp');
  const b = Buffer.alloc(SNP_REPORT_REQ_SIZE);
  userData.copy(b, 0);
  b.writeUInt32LE(vmpl, 64);
  return b;
}

const SNP_FW_STATUS: Record<number, string> = { 0x16: 'invalid parameters', 0x27: 'invalid key' };
const SNP_VMM_ERROR: Record<number, string> = { 1: 'certificate buffer too small', 2: 'host busy' };

/** Decode exitinfo2 into firmware / VMM error text. */
export function describeExitinfo2(exitinfo2: bigint): string {
  const fw = Number(exitinfo2 & 0xffffffffn);
  const vmm = Number((exitinfo2 >> 32n) & 0xffffffffn);
  const parts: string[] = [];
  if (fw) parts.push(`firmware error 0x${fw.toString(16)}${SNP_FW_STATUS[fw] ? ` (${SNP_FW_STATUS[fw]})` : ''}`);
  if (vmm) parts.push(`VMM error ${vmm}${SNP_VMM_ERROR[vmm] ? ` (${SNP_VMM_ERROR[vmm]})` : ''}`);
  return parts.join(', ') || 'no error code';
}

/** The report out of an SNP MSG_REPORT_RSP buffer. */
export function parseSnpReportResp(resp: Buffer): Buffer {
  if (resp.length < SNP_REPORT_OFFSET + SNP_REPORT_SIZE)
    throw new AttesterError(`snp: response buffer of ${resp.length} bytes is too short`, 'snp');
  const status = resp.readUInt32LE(0);
  if (status !== 0)
    throw new AttesterError(
      `snp: SNP_GET_REPORT status 0x${status.toString(16)}${SNP_FW_STATUS[status] ? ` (${SNP_FW_STATUS[status]})` : ''}`,
      'snp',
    );
  const size = resp.readUInt32LE(4);
  if (size !== SNP_REPORT_SIZE) throw new AttesterError(`snp: report_size ${size}, expected ${SNP_REPORT_SIZE}`, 'snp');
  return Buffer.from(resp.subarray(SNP_REPORT_OFFSET, SNP_REPORT_OFFSET + size));
}

function ioctlError(tee: string, device: string, what: string, e: unknown, extra = ''): AttesterError {
  const errno = (e as { errno?: number }).errno;
  const code = (e as { code?: string }).code;
  const why =
    code === 'ENOENT'
      ? `${device} does not exist (no ${tee === 'snp' ? 'sev-guest' : 'tdx-guest'} driver in this guest)`
      : code === 'EACCES' || code === 'EPERM'
        ? `permission denied opening ${device}`
        : `${(e as Error).message}${errno !== undefined ? ` (errno ${Math.abs(errno)})` : ''}`;
  return new AttesterError(`${tee}: ${what} on ${device} failed: ${why}${extra}`, tee, { cause: e });
}

/** SNP report through /dev/sev-guest. */
export async function snpReportViaIoctl(
  io: GuestDeviceIoctl,
  userData: Buffer,
  opts: { vmpl?: number; device?: string } = {},
): Promise<Buffer> {
  const device = opts.device ?? SEV_GUEST_DEVICE;
  const req = buildSnpReportReq(userData, opts.vmpl ?? 0);
  const resp = Buffer.alloc(SNP_REPORT_RESP_SIZE);
  let exitinfo2: bigint;
  try {
    exitinfo2 = await io.snpGetReport(device, SNP_MSG_VERSION, req, resp);
  } catch (e) {
    const x = (e as { exitinfo2?: bigint }).exitinfo2;
    throw ioctlError('snp', device, 'SNP_GET_REPORT', e, x ? `: ${describeExitinfo2(x)}` : '');
  }
  if (exitinfo2 !== 0n)
    throw new AttesterError(`snp: SNP_GET_REPORT on ${device}: ${describeExitinfo2(exitinfo2)}`, 'snp');
  return parseSnpReportResp(resp);
}

/** TDREPORT (1024 bytes) through /dev/tdx_guest. */
export async function tdxReportViaIoctl(
  io: GuestDeviceIoctl,
  reportData: Buffer,
  opts: { device?: string } = {},
): Promise<Buffer> {
  const device = opts.device ?? TDX_GUEST_DEVICE;
  if (reportData.length !== TDX_REPORTDATA_LEN)
    throw new AttesterError(`tdx: reportdata must be 64 bytes, got ${reportData.length}`, 'tdx');
  const arg = Buffer.alloc(TDX_REPORT_REQ_SIZE);
  reportData.copy(arg, 0);
  try {
    await io.tdxGetReport0(device, arg);
  } catch (e) {
    throw ioctlError('tdx', device, 'TDX_CMD_GET_REPORT0', e);
  }
  const report = Buffer.from(arg.subarray(TDX_REPORTDATA_LEN));
  if (report.every((b) => b === 0))
    throw new AttesterError(`tdx: TDX_CMD_GET_REPORT0 on ${device} returned an empty TDREPORT`, 'tdx');
  return report;
}

/** TDREPORT_STRUCT offsets: REPORTMACSTRUCT.reportdata at 128, TDINFO at 512 (mrtd 528, mrconfigid 576). */
export const TDREPORT_REPORTDATA_OFFSET = 128;
export const TDREPORT_MRTD_OFFSET = 528;
export const TDREPORT_MRCONFIGID_OFFSET = 576;
