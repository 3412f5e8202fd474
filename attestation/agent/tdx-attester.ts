/**
 * TDX attester: a quote through configfs-tsm (provider `tdx_guest`, needs the host's QGS). Evidence:
 * `{"cc_eventlog": "<base64 CCEL>" | null, "quote": "<base64>"}`. /dev/tdx_guest (TDX_CMD_GET_REPORT0 via the native
 * addon) only yields a local TDREPORT, used for the initdata check (mr_config_id) when configfs-tsm is absent.
 */
import { promises as fs } from 'node:fs';
import { AttesterError, fitReportData, type Attester } from './attester.js';
import { tsmAvailable, tsmGetReport, type TsmOptions } from './configfs-tsm.js';
import { TDREPORT_MRCONFIGID_OFFSET, tdxReportViaIoctl, type GuestDeviceIoctl } from './ioctl-abi.js';

export const CCEL_PATH = '/sys/firmware/acpi/tables/data/CCEL';
/** mr_config_id offset in a v4 quote (header 48 + body 184) and v5 (header 48 + type/size 6 + body 184). */
const QUOTE_V4_MRCONFIGID = 232;
const QUOTE_V5_MRCONFIGID = 238;

export interface TdxAttesterOptions extends TsmOptions {
  ioctl?: GuestDeviceIoctl;
  device?: string;
  ccelPath?: string;
}

export class TdxAttester implements Attester {
  readonly tee = 'tdx' as const;
  constructor(private readonly opts: TdxAttesterOptions = {}) {}

  async getQuote(reportData: Buffer): Promise<Buffer> {
    const inblob = fitReportData(reportData, 'tdx');
    if (!(await tsmAvailable(this.opts))) {
      throw new AttesterError(
        'tdx: configfs-tsm is not available, and /dev/tdx_guest cannot produce a quote (only a local TDREPORT)',
        'tdx',
      );
    }
    const r = await tsmGetReport('tdx', 'tdx_guest', inblob, this.opts);
    if (r.outblob.length < 48 + 584)
      throw new AttesterError(`tdx: quote of ${r.outblob.length} bytes is too short`, 'tdx');
    return r.outblob;
  }

  async getEvidence(reportData: Buffer): Promise<unknown> {
    const quote = await this.getQuote(reportData);
    let ccel: Buffer | null = null;
    try {
      ccel = await fs.readFile(this.opts.ccelPath ?? CCEL_PATH);
    } catch {
      ccel = null; // no CC event log exposed: the verifier skips the RTMR replay
    }
    return { cc_eventlog: ccel ? ccel.toString('base64') : null, quote: quote.toString('base64') };
  }

  /** mr_config_id (48 bytes): the initdata binding, from a quote or (fallback) a TDREPORT. */
  async mrConfigId(): Promise<Buffer> {
    if (await tsmAvailable(this.opts)) {
      const q = await this.getQuote(Buffer.alloc(64));
      const version = q.readUInt16LE(0);
      const off = version === 5 ? QUOTE_V5_MRCONFIGID : QUOTE_V4_MRCONFIGID;
      return Buffer.from(q.subarray(off, off + 48));
    }
    if (!this.opts.ioctl)
      throw new AttesterError(
        'tdx: neither configfs-tsm nor the /dev/tdx_guest ioctl (native addon) is available',
        'tdx',
      );
    const rep = await tdxReportViaIoctl(
      this.opts.ioctl,
      Buffer.alloc(64),
      this.opts.device ? { device: this.opts.device } : {},
    );
    return Buffer.from(rep.subarray(TDREPORT_MRCONFIGID_OFFSET, TDREPORT_MRCONFIGID_OFFSET + 48));
  }
}
