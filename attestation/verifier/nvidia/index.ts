export {
  verifyNvidia,
  verifyNvidiaDevice,
  verifyNvidiaDevices,
  NVIDIA_DEVICE_ROOT_SHA256,
  HOPPER_CHAIN_LENGTH,
  type NvidiaDeviceEvidence,
  type NvidiaEvidence,
  type NvidiaVerifyOptions,
} from './verify-nvidia.js';
export { certFwids, DICE_TCB_INFO_OID } from './fwid.js';
