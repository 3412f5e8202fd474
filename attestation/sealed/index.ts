/** Sealed secrets: parse, verify (ES256 by kid), seal, unseal (vault / envelope). */
export * from './sealed-secret.js';
export * from './unseal.js';
