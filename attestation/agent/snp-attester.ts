/**
 * SEV-SNP attester: the report through configfs-tsm (provider `sev_guest`), or through /dev/sev-guest
 * (SNP_GET_REPORT via the native addon) when configfs-tsm is absent. Evidence:
 * `{"attestation_report": "<base64 of the 1184-byte report>", "cert_chain": [{cert_type, data}] | null}`.
 */
import { AttesterError, fitReportData, type Attester } from './attester.js';
import { tsmAvailable, tsmGetReport, type TsmOptions } from './configfs-tsm.js';
import { SNP_REPORT_SIZE, snpReportViaIoctl, type GuestDeviceIoctl } from './ioctl-abi.js';
import { parseSnpCertTable } from './snp-cert-table.js';

export const SNP_HOST_DATA_OFFSET = 0xc0;
export const SNP_REPORT_DATA_OFFSET = 0x50;

export interface SnpAttesterOptions extends TsmOptions {
  /** Fallback when configfs-tsm is absent. */
  ioctl?: GuestDeviceIoctl;
  device?: string;
  vmpl?: number;
}

export class SnpAttester implements Attester {
  readonly tee = 'snp' as const;
  constructor(private readonly opts: SnpAttesterOptions = {}) {}

  /** The raw report and the certificate table (if the host supplied one). */
  async getReport(
    reportData: Buffer,
  ): Promise<{ report: Buffer; certTable?: Buffer; source: 'configfs-tsm' | 'ioctl' }> {
    const inblob = fitReportData(reportData, 'snp');
    let report: Buffer;
    let certTable: Buffer | undefined;
    let source: 'configfs-tsm' | 'ioctl';
    if (await tsmAvailable(this.opts)) {
      const r = await tsmGetReport('snp', 'sev_guest', inblob, {
        ...this.opts,
        ...(this.opts.vmpl !== undefined ? { privlevel: this.opts.vmpl } : {}),
      });
      report = r.outblob;
      certTable = r.auxblob;
      source = 'configfs-tsm';
    } else if (this.opts.ioctl) {
      report = await snpReportViaIoctl(this.opts.ioctl, inblob, {
        ...(this.opts.vmpl !== undefined ? { vmpl: this.opts.vmpl } : {}),
        ...(this.opts.device ? { device: this.opts.device } : {}),
      });
      source = 'ioctl';
    } else {
      throw new AttesterError(
        'snp: neither configfs-tsm nor the /dev/sev-guest ioctl (native addon) is available',
        'snp',
      );
    }
    if (report.length !== SNP_REPORT_SIZE)
      throw new AttesterError(`snp: report is ${report.length} bytes, expected ${SNP_REPORT_SIZE}`, 'snp');
    if (!report.subarray(SNP_REPORT_DATA_OFFSET, SNP_REPORT_DATA_OFFSET + 64).equals(inblob)) {
      throw new AttesterError('snp: the report does not carry the requested report_data', 'snp');
    }
    return { report, ...(certTable ? { certTable } : {}), source };
  }

  async getEvidence(reportData: Buffer): Promise<unknown> {
    const { report, certTable } = await this.getReport(reportData);
    return {
      attestation_report: report.toString('base64'),
      cert_chain: certTable ? parseSnpCertTable(certTable) : null,
    };
  }

  /** host_data (32 bytes) of a report with zero report data: the initdata binding. */
  async hostData(): Promise<Buffer> {
    const { report } = await this.getReport(Buffer.alloc(64));
    return Buffer.from(report.subarray(SNP_HOST_DATA_OFFSET, SNP_HOST_DATA_OFFSET + 32));
  }
}
