/** Guest attesters: sample (INSECURE), SNP and TDX (configfs-tsm, ioctl fallback), NVIDIA (NVML), initdata check. */
export * from './attester.js';
export * from './sample-attester.js';
export * from './configfs-tsm.js';
export * from './ioctl-abi.js';
export * from './snp-cert-table.js';
export * from './snp-attester.js';
export * from './tdx-attester.js';
export * from './nvidia-attester.js';
export * from './initdata-check.js';
export * from './detect.js';
