export * from './rego/index.js';
export * from './agent/index.js';
