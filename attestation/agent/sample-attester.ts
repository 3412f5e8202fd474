/**
 * The `sample` attester: software-only, INSECURE evidence for development machines without TEE hardware.
 * Evidence `{"svn":"1","report_data":"<base64 of the digest>","init_data":"<base64 initdata digest>"?}`.
 */
import type { Attester } from './attester.js';

export class SampleAttester implements Attester {
  readonly tee = 'sample' as const;
  /** Marks every evidence as insecure so nobody mistakes it for hardware evidence. */
  readonly insecure = true;
  constructor(private readonly opts: { initdataDigest?: Buffer; svn?: string } = {}) {}
  async getEvidence(reportData: Buffer): Promise<unknown> {
    const ev: Record<string, string> = { svn: this.opts.svn ?? '1', report_data: reportData.toString('base64') };
    if (this.opts.initdataDigest) ev.init_data = this.opts.initdataDigest.toString('base64');
    return ev;
  }
}

/** `sampledevice` additional attester (like guest-components' ENABLE_SAMPLE_DEVICE): `{svn, report_data}`. */
export class SampleDeviceAttester implements Attester {
  readonly tee = 'sampledevice' as const;
  async getEvidence(reportData: Buffer): Promise<unknown> {
    return { svn: '2', report_data: reportData.toString('base64') };
  }
}
