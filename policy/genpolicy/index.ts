/** genpolicy-style policy generator: pod YAML + settings + image metadata → policy_data, rules, initdata. */
export { GenpolicyError } from './errors.js';
export { LayersCache, type LayerFiles } from './layers-cache.js';
export {
  RegistryImageSource,
  StaticImageSource,
  type ImageInfo,
  type ImageSource,
  type RegistryImageSourceOptions,
} from './image-source.js';
export { applyJsonPatch, getPointer, parsePointer, type PatchOperation } from './json-patch.js';
export {
  loadSettings,
  validateSettings,
  SETTINGS_FILE_NAME,
  DROP_IN_DIR_NAME,
  type GenpolicySettings,
  type LoadedSettings,
} from './settings.js';
export {
  parseK8sYaml,
  setPodAnnotation,
  stringifyDocs,
  POLICY_KINDS,
  PASS_THROUGH_KINDS,
  type PodResource,
  type ParsedYaml,
  type PolicyKind,
} from './k8s-resources.js';
export { ConfigObjects } from './config-maps.js';
export { resolveUser, parsePasswd, parseGroup, type ResolvedUser } from './users.js';
export { buildEnv, expandVars } from './env.js';
export { sandboxNamePattern, pauseContainerPolicy, workloadContainerPolicy } from './container-policy.js';
export { buildPolicyData } from './policy-data.js';
export {
  policyText,
  initdataToml,
  parseInitdataToml,
  encodeInitdataAnnotation,
  decodeInitdataAnnotation,
  encodeLegacyPolicyAnnotation,
  INITDATA_ANNOTATION,
  LEGACY_POLICY_ANNOTATION,
  INITDATA_VERSION,
  POLICY_KEY,
  type InitdataDocument,
} from './initdata.js';
export { generatePolicies, type GenerateOptions, type GenerateResult, type GeneratedPolicy } from './generate.js';
export type {
  PolicyData,
  PolicyContainer,
  PolicyOci,
  PolicyMount,
  PolicyStorage,
  PolicyDevice,
} from './policy-types.js';
export { generateFromFiles, type GenerateFilesOptions } from './generate-files.js';
