/** Intel's root of trust for DCAP: the SGX Root CA, pinned by SHA-256 fingerprint. */
export const INTEL_SGX_ROOT_CA_SHA256 = '44a0196b2b99f889b8e149e95b807a350e7424964399e885a7cbb8ccfab674d3';
