/**
 * Runtime configuration: TOML (+ `config.d` drop-ins) + allowed pod annotations → one typed, validated
 * `RuntimeConfig`, with the provenance of every value. See docs/configuration.md.
 */
export type * from './types.js';
export { loadConfig, loadConfigFile, loadSandboxConfig, type LoadConfigOptions } from './load.js';
export {
  resolveConfigPath,
  ETC_CONFIG_PATH,
  type ResolvedConfigPath,
  type ResolveConfigPathOptions,
  type ConfigPathSource,
} from './resolve.js';
export {
  applyAnnotations,
  isHypervisorAnnotationEnabled,
  HYPERVISOR_ANNOTATION_PREFIX,
  AGENT_ANNOTATION_PREFIX,
  RUNTIME_ANNOTATION_PREFIX,
  AGENT_POLICY_ANNOTATION,
} from './annotations.js';
export {
  checkInitdataAnnotation,
  INITDATA_ANNOTATION,
  INITDATA_ALGORITHMS,
  type InitdataSummary,
} from './initdata-check.js';
export {
  staticSandboxSizing,
  SANDBOX_CPU_QUOTA,
  SANDBOX_CPU_PERIOD,
  SANDBOX_MEMORY,
  type SandboxSizing,
} from './sizing.js';
export { defaultRuntimeConfig } from './decode.js';
export {
  FLAVOURS,
  DEFAULT_FLAVOUR,
  isFlavour,
  runtimeHandler,
  shippedConfigPath,
  installedConfigPath,
} from './flavours.js';
export { effectiveValues, formatEffectiveConfig, effectiveConfigJson, type EffectiveValue } from './show.js';
export { describeSource } from './provenance.js';
export { MAX_PCIE_PORTS, MIN_MEMORY_MIB, VFIO_PORTS, EXTRA_MONITOR_SOCKETS, VFIO_MODES } from './schema.js';
export { DROP_IN_DIR } from './drop-ins.js';
export { packageRoot } from './package-root.js';
