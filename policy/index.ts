export * from './rego/index.js';
export * from './agent/index.js';
export * as genpolicy from './genpolicy/index.js';
export * as oci from './oci/index.js';
