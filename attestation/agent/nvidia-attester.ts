/**
 * NVIDIA GPU attester (an additional device for the KBS): for each GPU, the SPDM attestation report for a 32-byte
 * nonce (the first 32 bytes of the device runtime-data digest) and the device certificate chain, through NVML
 * (`nvmlDeviceGetConfComputeGpuAttestationReport`, `nvmlDeviceGetConfComputeGpuCertificate`). NVML is reached
 * through the native addon (dlopen of libnvidia-ml.so.1); an absent library is a clear error.
 * Evidence: `{"device_evidence_list": [{"arch","uuid","evidence": base64,"certificate": base64 of PEM chain}]}`.
 */
import { AttesterError, type Attester } from './attester.js';

/** What the native NVML binding provides. */
export interface NvmlBinding {
  deviceCount(): Promise<number>;
  uuid(index: number): Promise<string>;
  /** "HOPPER", "BLACKWELL", ... */
  architecture(index: number): Promise<string>;
  attestationReport(index: number, nonce: Buffer): Promise<Buffer>;
  /** The attestation certificate chain (PEM). */
  certificateChain(index: number): Promise<Buffer>;
}

export const NVML_LIBRARY = 'libnvidia-ml.so.1';

export class NvidiaAttester implements Attester {
  readonly tee = 'nvidia' as const;
  private readonly nvml: NvmlBinding;
  /** `load` returns the NVML binding, or throws/returns undefined when libnvidia-ml cannot be loaded. */
  constructor(load: () => NvmlBinding | undefined) {
    let n: NvmlBinding | undefined;
    let cause: unknown;
    try {
      n = load();
    } catch (e) {
      cause = e;
    }
    if (!n) {
      throw new AttesterError(
        `nvidia: NVML (${NVML_LIBRARY}) is not available${cause ? `: ${(cause as Error).message}` : ''}; install the NVIDIA driver in the guest or disable GPU attestation`,
        'nvidia',
        { cause },
      );
    }
    this.nvml = n;
  }

  async getEvidence(reportData: Buffer): Promise<unknown> {
    if (reportData.length < 32)
      throw new AttesterError(`nvidia: device runtime data is ${reportData.length} bytes, need at least 32`, 'nvidia');
    const nonce = Buffer.from(reportData.subarray(0, 32));
    let count: number;
    try {
      count = await this.nvml.deviceCount();
    } catch (e) {
      throw new AttesterError(`nvidia: NVML device count failed: ${(e as Error).message}`, 'nvidia', { cause: e });
    }
    if (count === 0) throw new AttesterError('nvidia: NVML reports no GPU', 'nvidia');
    const list: Array<{ arch: string; uuid: string; evidence: string; certificate: string }> = [];
    for (let i = 0; i < count; i++) {
      try {
        const [arch, uuid, report, chain] = [
          await this.nvml.architecture(i),
          await this.nvml.uuid(i),
          await this.nvml.attestationReport(i, nonce),
          await this.nvml.certificateChain(i),
        ];
        list.push({
          arch: arch.toUpperCase(),
          uuid,
          evidence: report.toString('base64'),
          certificate: chain.toString('base64'),
        });
      } catch (e) {
        throw new AttesterError(`nvidia: GPU ${i}: ${(e as Error).message}`, 'nvidia', { cause: e });
      }
    }
    return { device_evidence_list: list };
  }
}
