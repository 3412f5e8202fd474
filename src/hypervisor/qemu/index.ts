export * from './cmdline.js';
export * from './kernel-params.js';
export * from './guest-protection.js';
