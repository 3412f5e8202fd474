/** Evidence layouts and parsers (no verification): SNP reports and evidence JSON, TDX quotes, NVIDIA SPDM reports. */
export { MalformedEvidenceError } from './errors.js';
export {
  parseSnpReport,
  decodeSnpPolicy,
  decodeSnpTcb,
  encodeSnpTcb,
  snpGenerationFromCpuid,
  SNP_REPORT_SIZE,
  SNP_SIGNED_SIZE,
  SNP_GENERATIONS,
  type SnpReport,
  type SnpTcb,
  type SnpGeneration,
  type SnpSigningKey,
  type SnpPolicyBits,
} from './snp-report.js';
export {
  parseSnpEvidenceJson,
  snpReportFromJson,
  parseSnpCertTable,
  type SnpEvidence,
  type SnpCertEntry,
  type SnpCertType,
} from './snp-evidence.js';
export {
  parseTdxQuote,
  parseSgxReportBody,
  INTEL_QE_VENDOR_ID,
  type TdxQuote,
  type TdxReportBody,
  type SgxReportBody,
} from './tdx-quote.js';
export {
  parseSpdmReport,
  opaqueClaims,
  OPAQUE_TYPE,
  type SpdmReport,
  type SpdmMeasurementBlock,
  type SpdmOpaqueField,
} from './nvidia-spdm.js';
