export * from './cmdline.js';
export * from './kernel-params.js';
export * from './guest-protection.js';
export * from './qmp.js';
export * from './vm.js';
export * from './guest-pci-path.js';
