/**
 * Guest attesters: produce TEE evidence binding a runtime-data digest (KBS protocol §1.5), in the JSON shape the
 * KBS verifiers expect for their TEE.
 */

export type AttesterTee = 'snp' | 'tdx' | 'sample' | 'nvidia' | 'sampledevice';

export interface Attester {
  readonly tee: AttesterTee;
  /** Evidence whose report data binds `reportData` (fitted to the field: zero-pad, refuse longer). */
  getEvidence(reportData: Buffer): Promise<unknown>;
}

/** Any attester failure: names the TEE and the source (configfs path, device node, library). */
export class AttesterError extends Error {
  constructor(
    message: string,
    readonly tee: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'AttesterError';
  }
}

/** SNP and TDX report data are 64 bytes: zero-pad, refuse anything longer. */
export function fitReportData(reportData: Buffer, tee: string, size = 64): Buffer {
  if (reportData.length > size) {
    throw new AttesterError(`${tee}: report data is ${reportData.length} bytes, more than the ${size}-byte field`, tee);
  }
  const out = Buffer.alloc(size);
  reportData.copy(out);
  return out;
}
