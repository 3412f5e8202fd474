/**
 * `ccgpu demo`: a guided run of the main job on a machine without a TEE or GPU — host check, a fake HGX H100 host
 * through CDI to the SEV-SNP QEMU command line (parsed by QEMU 11.1 when available), agent policy generation and
 * enforcement, attestation with the embedded KBS, and the live containerd path. See docs/demo.md.
 */
export {
  runDemo,
  formatSummary,
  DEMO_STEPS,
  liveStep,
  liveOutcome,
  type DemoReport,
  type DemoStepResult,
  type RunDemoOptions,
} from './run-demo.js';
export type { DemoContext, DemoOutput, DemoStep, StepOutcome, StepStatus } from './types.js';
export { hostCheckStep } from './step-host-check.js';
export { gpuHostStep, formatCommandLine, DEMO_SANDBOX_ID } from './step-gpu-host.js';
export { policyStep, DEMO_POD_YAML } from './step-policy.js';
export { attestationStep } from './step-attestation.js';
export { writeHgxHost, type HgxHost } from './hgx-host-tree.js';
export { forkyQemu, qemuParsesLine, tcgDevicePass, FORKY_ROOT, type ForkyQemu } from './qemu11-parse.js';
export { runLiveDemo } from './live.js';
export { findPackageRoot } from './package-root.js';
