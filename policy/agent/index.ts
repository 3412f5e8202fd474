/** Agent policy enforcement (Kata agent semantics) and the policy eval/explain tooling. */
export {
  AgentPolicy,
  POLICY_PACKAGE,
  DEFAULT_MODULE_NAME,
  type AgentPolicyOptions,
  type Decision,
  type DetailedDecision,
} from './agent-policy.js';
export {
  PolicyDeniedError,
  PolicyInternalError,
  PolicyLoadError,
  denialMessage,
  GRPC_INTERNAL,
  GRPC_PERMISSION_DENIED,
} from './errors.js';
export {
  toPolicyCopyFileRequest,
  fileTypeOf,
  type CopyFileRequestLike,
  type PolicyCopyFileRequest,
  type PolicyFileType,
} from './copy-file.js';
export { parseInitdataDevice, parseInitdataToml, hasInitdataMagic, INITDATA_MAGIC, type InitData } from './initdata.js';
export {
  REQUEST_TYPES,
  UPSTREAM_DEFAULT_DECISIONS,
  ALLOW_REQUESTS_FAILING_POLICY,
  isRequestType,
  type RequestType,
} from './requests.js';
export { parseRequestLog, type LoggedRequest } from './request-log.js';
export {
  evaluateRequests,
  explainDenial,
  summariseTimings,
  type EvaluateOptions,
  type EvaluateResult,
  type Explanation,
  type TimingSummary,
} from './evaluate-requests.js';
