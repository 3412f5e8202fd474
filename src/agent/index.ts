/**
 * The ccgpu guest agent (runs inside the VM; never imports host code). `main.ts` is the bundled entry point.
 */
export {
  AgentService,
  AGENT_VERSION,
  type PolicyGate,
  type PolicyDecision,
  type AgentServiceOptions,
} from './agent-service.js';
export { ContainerProcess, type ProcessLaunch } from './container-process.js';
export { OutputBuffer, StreamEndedError } from './output-buffer.js';
export { parseAgentCmdline, splitCmdline, type AgentCmdline, type AgentTransport } from './kernel-cmdline.js';
export {
  cgroupsPathFor,
  detectCgroupDriver,
  expandSlice,
  isSystemdCgroupsPath,
  type CgroupDriver,
} from './cgroup-path.js';
export { ociConfigFromGrpcSpec, ociProcessFromGrpc, writeBundle, checkId } from './oci-bundle.js';
export { Runc, findRunc, lastRuncError, rootIsInitramfs, RUNC_ROOT } from './runc.js';
export { mountCommandFor, mountStorage, STORAGE_DRIVERS, type MountCommand } from './storage.js';
export { vfioAssignments, type VfioAssignment } from './devices.js';
export { interfaceCommands, routeCommand, linkByMac, type GuestInterface, type GuestRoute } from './network.js';
export { cgroupStats, parseFlatKeyed } from './cgroup-stats.js';
export { zombieChildren, OrphanReaper } from './pid1.js';
export { listVirtioPorts, findVirtioPort, waitForVirtioPort, type VirtioPort } from './virtio-port.js';
export { portDeviceNode } from './transport.js';
