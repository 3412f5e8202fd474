/**
 * VFIO CDI spec generator for NVIDIA GPUs and NVSwitches bound to vfio-pci (sandbox-device-plugin compatible).
 */
export {
  DEFAULT_GPU_ALIAS,
  DEFAULT_NVSWITCH_ALIAS,
  generateVfioSpecs,
  writeVfioSpecs,
  type GenerateOptions,
  type GenerateResult,
  type GeneratedSpec,
} from './generate.js';
export {
  CLASS_3D,
  CLASS_NVSWITCH,
  CLASS_VGA,
  NVIDIA_VENDOR,
  classifyFunction,
  comparePciAddress,
  scanVfioPciFunctions,
  type PciScanResult,
  type VfioDeviceKind,
  type VfioPciFunction,
} from './pci-scan.js';
export { PCI_IDS_PATHS, findPciIdsFile, parsePciIds, pciNameSource, type PciNameSource } from './pci-ids.js';
export { formatModelName, modelClass } from './model-class.js';
export { NVIDIA_DATACENTER_MODELS } from './nvidia-models.js';
