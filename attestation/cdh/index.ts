/** Confidential Data Hub: KBS resources, sealed secrets, unsealing in env and volumes, initdata guest config. */
export * from './resource-uri.js';
export * from './guest-config.js';
export * from './hub.js';
export * from './unseal-container.js';
