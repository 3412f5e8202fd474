/**
 * Binding the challenge nonce and the TEE public key into the hardware evidence (KBS protocol §1.5):
 * device_rd = JCS({nonce, tee-pubkey}); primary_rd = JCS({additional-evidence, nonce, tee-pubkey});
 * each hashed with the negotiated algorithm (SHA-384 by default), then fitted to the report-data field.
 */
import { createHash } from 'node:crypto';
import { canonicalJson } from './canonical-json.js';
import type { HashAlgorithm, TeePubkey } from './protocol.js';

export const DEFAULT_HASH_ALGORITHM: HashAlgorithm = 'sha384';

export function deviceRuntimeData(nonce: string, teePubkey: TeePubkey): string {
  return canonicalJson({ nonce, 'tee-pubkey': teePubkey });
}

export function primaryRuntimeData(nonce: string, teePubkey: TeePubkey, additionalEvidence: string): string {
  return canonicalJson({ 'additional-evidence': additionalEvidence, nonce, 'tee-pubkey': teePubkey });
}

export function runtimeDataDigest(canonical: string, alg: HashAlgorithm = DEFAULT_HASH_ALGORITHM): Buffer {
  return createHash(alg).update(canonical, 'utf8').digest();
}

/** Zero-pad (when shorter) or truncate (when longer) `digest` to `size` bytes, as verifiers "regularize" it. */
export function regularizeDigest(digest: Buffer, size: number): Buffer {
  const out = Buffer.alloc(size);
  digest.copy(out, 0, 0, Math.min(size, digest.length));
  return out;
}

/** Pick the hash algorithm from the challenge's `extra-params` (`selected-hash-algorithm`), default SHA-384. */
export function selectedHashAlgorithm(extraParams: unknown): HashAlgorithm {
  if (extraParams && typeof extraParams === 'object' && !Array.isArray(extraParams)) {
    const v = (extraParams as Record<string, unknown>)['selected-hash-algorithm'];
    if (v === 'sha256' || v === 'sha384' || v === 'sha512') return v;
  }
  return DEFAULT_HASH_ALGORITHM;
}
