/**
 * RCAR wire types and constants of the KBS protocol, version 0.4.0 (Trustee v0.14 and later).
 */
import type { JWK } from 'jose';

export const KBS_PROTOCOL_VERSION = '0.4.0';
export const KBS_API_PREFIX = '/kbs/v0';
export const KBS_SESSION_COOKIE = 'kbs-session-id';
export const KBS_ERROR_TYPE_PREFIX = 'https://github.com/confidential-containers/kbs/errors/';

/** kbs-types TEE names. Only the primary (CPU) TEE goes into `Request.tee`. */
export const KBS_TEES = [
  'snp',
  'tdx',
  'sgx',
  'az-snp-vtpm',
  'az-tdx-vtpm',
  'cca',
  'csv',
  'se',
  'tpm',
  'hygondcu',
  'nvidia',
  'sample',
  'sampledevice',
] as const;
export type KbsTee = (typeof KBS_TEES)[number];

export function isKbsTee(x: unknown): x is KbsTee {
  return typeof x === 'string' && (KBS_TEES as readonly string[]).includes(x);
}

export const HASH_ALGORITHMS = ['sha256', 'sha384', 'sha512'] as const;
export type HashAlgorithm = (typeof HASH_ALGORITHMS)[number];

/** Client → `/auth`. */
export interface KbsRequest {
  version: string;
  tee: KbsTee;
  'extra-params': unknown;
}

/** `/auth` → client. */
export interface KbsChallenge {
  /** base64 (standard) of 32 random bytes. */
  nonce: string;
  'extra-params': unknown;
}

export interface RuntimeData {
  nonce: string;
  'tee-pubkey': TeePubkey;
}

/** The public key the resource is encrypted to (EC for ECDH-ES+A256KW, RSA for RSA-OAEP-256). */
export type TeePubkey = JWK & { kty: string; alg?: string };

export interface TeeEvidence {
  primary_evidence: unknown;
  /** A JSON *string* (object keyed by TEE name) or "". */
  additional_evidence: string;
}

/** Client → `/attest`. */
export interface KbsAttestation {
  'init-data'?: { format: string; body: string } | null;
  'runtime-data': RuntimeData;
  'tee-evidence': TeeEvidence;
}

/** `/attest` → client. */
export interface KbsAttestResponse {
  token: string;
}

/** RFC 7807-like error body Trustee answers with. */
export interface KbsErrorBody {
  type: string;
  detail: string;
}

/** RFC 7516 flattened JSON serialization, as Trustee sends it (no `aad`, no unprotected headers). */
export interface FlattenedJwe {
  protected: string;
  encrypted_key: string;
  iv: string;
  ciphertext: string;
  tag: string;
}

/** The EAR (RATS) profile Trustee's attestation service issues. */
export const EAR_PROFILE = 'tag:github.com,2024:confidential-containers/Trustee';
export const EAR_ANNOTATED_EVIDENCE = 'ear.veraison.annotated-evidence';
