/**
 * CDI (Container Device Interface) library: spec types, strict parsing and validation with the reference
 * implementation's rules and error texts, the spec-directory registry, injection into OCI specs, device-request
 * annotations, spec writing, and (in `./generator/`) the VFIO spec generator for NVIDIA GPUs and NVSwitches.
 * Standalone: never imports the runtime (`src/`).
 */
export type {
  CdiCompat,
  CdiDevice,
  CdiSpec,
  ContainerEdits,
  DeviceNode,
  DeviceNodeType,
  Hook,
  IntelRdt,
  LinuxNetDevice,
  Mount,
  OciDeviceCgroup,
  OciHook,
  OciHooks,
  OciLinuxDevice,
  OciMount,
  OciSpec,
} from './types.js';
export { CdiError, UnresolvableDevicesError } from './errors.js';
export {
  isQualifiedName,
  parseDevice,
  parseQualifiedName,
  parseQualifier,
  qualifiedName,
  validateClassName,
  validateDeviceName,
  validateVendorName,
  type ParseResult,
  type QualifiedName,
} from './qualified-name.js';
export { CURRENT_VERSION, minimumRequiredVersion, normalizeVersion, validateVersion } from './version.js';
export { applyContainerEdits, validateContainerEdits, validateEnv, HOOK_NAMES } from './container-edits.js';
export { statHostDevice, splitDevNumber, type HostDeviceInfo, type StatDevice } from './host-device.js';
export {
  deviceQualifiedName,
  loadSpec,
  parseSpec,
  parseSpecText,
  readSpec,
  validateSpec,
  type LoadedSpec,
  type SpecOptions,
} from './spec.js';
export {
  CdiRegistry,
  DEFAULT_DYNAMIC_DIR,
  DEFAULT_SPEC_DIRS,
  DEFAULT_STATIC_DIR,
  injectDevices,
  sortDeviceNames,
  type InjectResult,
  type RegistryOptions,
  type ResolvedDevice,
} from './registry.js';
export {
  ANNOTATION_PREFIX,
  annotationKey,
  annotationValue,
  namesFromPodResources,
  parseAnnotations,
  updateAnnotations,
  withoutCdiAnnotations,
  type PodResourceDevices,
} from './annotations.js';
export { specFileName, specName, specToYaml, writeSpecFiles, type SpecFile } from './spec-writer.js';
export { closestNames, editDistance, naturalCompare } from './closest-names.js';
export * from './generator/index.js';
