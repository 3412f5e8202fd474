export { verifySnp, snpClaims, type SnpEvidenceInput, type SnpVerifyOptions } from './verify-snp.js';
export { kdsVcekUrl, kdsCertChainUrl, fetchFromKds, KDS_BASE } from './kds.js';
export { PINNED_ARK_SHA256, pickAmdRoots, generationOfCert, type AmdRoots } from './amd-roots.js';
export { readVekExtensions, decodeHwId, AMD_OID, type VekExtensions } from './vek-extensions.js';
