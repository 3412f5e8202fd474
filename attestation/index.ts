export * from './initdata/index.js';
export * from './verifier/index.js';
