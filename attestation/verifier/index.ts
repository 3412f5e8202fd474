/**
 * Evidence verification library: AMD SEV-SNP, Intel TDX, NVIDIA Hopper GPU, the sample TEE, and composite
 * CPU+GPU evidence. Every verifier returns a VerificationResult (ok, claims, and each check with its reason) and
 * never throws on bad evidence. Deterministic: pass `now` to fix the clock.
 */
export type { Tee, Check, VerificationResult, CommonVerifyOptions } from './types.js';
export { TEES } from './types.js';
export * from './snp/index.js';
export * from './tdx/index.js';
export * from './nvidia/index.js';
export { verifySample, type SampleVerifyOptions } from './sample.js';
export { verifyEvidence, type EvidenceVerifyOptions } from './verify-evidence.js';
export {
  verifyComposite,
  type CompositeEvidence,
  type CompositeBinding,
  type CompositeVerificationResult,
  type DeviceResult,
} from './composite.js';
export { runtimeDataDigests, canonicalize, type RuntimeDataDigests, type BindingHash } from './runtime-data-binding.js';
export { regularize } from './report-data.js';
export * from '../evidence/index.js';
export { verifyEvidenceBlob, type EvidenceBlobInputs } from './verify-blob.js';
