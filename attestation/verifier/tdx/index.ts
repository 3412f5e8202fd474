export {
  verifyTdx,
  tdxClaims,
  compareClaims,
  DEFAULT_ACCEPTED_TCB_STATUSES,
  type TdxVerifyOptions,
  type TdxCollateral,
} from './verify-tdx.js';
export {
  parseSignedCollateral,
  evaluateTdxTcb,
  evaluateQeIdentity,
  collateralSignatureOk,
  type TdxTcbInfo,
  type QeIdentity,
  type SignedCollateral,
  type TdxTcbEvaluation,
} from './collateral.js';
export { readPckExtensions, SGX_EXTENSIONS_OID, type PckExtensions } from './pck-extensions.js';
export { INTEL_SGX_ROOT_CA_SHA256 } from './intel-roots.js';
export { loadTdxCollateralDir } from './collateral-dir.js';
export { fetchTdxCollateralFromPcs, pcsTcbInfoUrl, pcsQeIdentityUrl, PCS_BASE } from './pcs.js';
