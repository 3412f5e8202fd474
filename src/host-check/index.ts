/**
 * Host readiness per flavour (`ccgpu check`): CPU, KVM, SNP/TDX, IOMMU, GPUs/NVSwitches on vfio-pci, IOMMUFD,
 * vhost-vsock, QEMU version and guest assets, each ok/warn/fail/skip with the fix. See docs/host-check.md.
 */
export {
  checkHost,
  HOST_CHECKS,
  type FlavourReport,
  type HostCheckOptions,
  type HostCheckReport,
} from './run-checks.js';
export { formatHostCheckReport, hostCheckReportJson } from './format.js';
export type { CheckContext, CheckResult, CheckStatus, HostCheck } from './types.js';
export { flavourNeeds, inferFlavour, type FlavourNeeds, type FlavourSource, type Tee } from './flavour-needs.js';
export { parseCpuInfo, type CpuInfo } from './cpuinfo.js';
export {
  MIN_QEMU_FOR_TEE,
  parseQemuVersion,
  parseObjectHelp,
  qemuVersionProbe,
  versionAtLeast,
  type QemuVersion,
  type QemuVersionAnswer,
  type QemuVersionProbe,
} from './qemu-version.js';
export { bindCommands } from './check-vfio-devices.js';
export { HostRoot } from './host-root.js';
