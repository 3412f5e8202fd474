/**
 * Confidential Containers sealed secrets: `sealed.<b64url header>.<b64url payload>.<b64url signature>`, a compact
 * ES256 JWS behind the literal `sealed.` prefix (guest-components v0.18+).
 *
 * - The header must have `alg: "ES256"` and a `kid`; the key (EC P-256 JWK) is found by `kid` through a resolver
 *   (a KBS resource URI or a local file name, see `cdh`).
 * - The payload is `vault` (a name the provider resolves) or `envelope` (DEK wrapped by a KMS, data encrypted with
 *   A256GCM / A256CTR); `version` must be "0.1.0".
 * - The legacy unsigned form (4 parts, fake header/signature) is refused unless explicitly allowed.
 */
import {
  createCipheriv,
  createDecipheriv,
  createPublicKey,
  generateKeyPairSync,
  randomBytes,
  type KeyObject,
} from 'node:crypto';
import { compactVerify, CompactSign, importJWK, type CryptoKey, type JWK } from 'jose';

export const SEALED_PREFIX = 'sealed.';
export const SEALED_VERSION = '0.1.0';
const MAX_SEALED_LENGTH = 1024 * 1024;

export class SealedSecretError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SealedSecretError';
  }
}

export interface VaultPayload {
  version: string;
  type: 'vault';
  name: string;
  provider: string;
  provider_settings: Record<string, unknown>;
  annotations: Record<string, unknown>;
}

export interface EnvelopePayload {
  version: string;
  type: 'envelope';
  provider: string;
  key_id: string;
  encrypted_key: string;
  encrypted_data: string;
  wrap_type: 'A256GCM' | 'A256CTR';
  iv: string;
  provider_settings: Record<string, unknown>;
  annotations: Record<string, unknown>;
}

export type SealedPayload = VaultPayload | EnvelopePayload;

export interface ParsedSealedSecret {
  header: Record<string, unknown>;
  payload: SealedPayload;
  /** The compact JWS (without `sealed.`). */
  jws: string;
}

export function isSealedSecret(value: string | Buffer): boolean {
  const s = typeof value === 'string' ? value : value.subarray(0, SEALED_PREFIX.length).toString('latin1');
  return s.startsWith(SEALED_PREFIX);
}

const B64URL = /^[A-Za-z0-9_-]*$/;
const B64 = /^[A-Za-z0-9+/]*={0,2}$/;

function decodePart(part: string, what: string): unknown {
  if (!B64URL.test(part) && !B64.test(part)) throw new SealedSecretError(`sealed secret: ${what} is not base64url`);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(Buffer.from(part, 'base64url'));
  } catch (e) {
    throw new SealedSecretError(`sealed secret: ${what} is not UTF-8`, { cause: e });
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw new SealedSecretError(`sealed secret: ${what} is not JSON`, { cause: e });
  }
}

function str(o: Record<string, unknown>, k: string, t: string): string {
  const v = o[k];
  if (typeof v !== 'string' || v.length === 0)
    throw new SealedSecretError(`sealed secret (${t}): "${k}" must be a non-empty string`);
  return v;
}
function obj(o: Record<string, unknown>, k: string, t: string): Record<string, unknown> {
  const v = o[k];
  if (v === undefined || v === null) return {};
  if (typeof v !== 'object' || Array.isArray(v))
    throw new SealedSecretError(`sealed secret (${t}): "${k}" must be an object`);
  return v as Record<string, unknown>;
}

/** Validate a payload object. */
export function validatePayload(x: unknown): SealedPayload {
  if (!x || typeof x !== 'object' || Array.isArray(x))
    throw new SealedSecretError('sealed secret: payload must be a JSON object');
  const o = x as Record<string, unknown>;
  if (o.version !== SEALED_VERSION) {
    throw new SealedSecretError(
      `sealed secret: version must be "${SEALED_VERSION}", got ${JSON.stringify(o.version ?? null)}`,
    );
  }
  if (o.type === 'vault') {
    return {
      version: SEALED_VERSION,
      type: 'vault',
      name: str(o, 'name', 'vault'),
      provider: str(o, 'provider', 'vault'),
      provider_settings: obj(o, 'provider_settings', 'vault'),
      annotations: obj(o, 'annotations', 'vault'),
    };
  }
  if (o.type === 'envelope') {
    const wrap = o.wrap_type;
    if (wrap !== 'A256GCM' && wrap !== 'A256CTR') {
      throw new SealedSecretError(
        `sealed secret (envelope): wrap_type must be A256GCM or A256CTR, got ${JSON.stringify(wrap ?? null)}`,
      );
    }
    const p: EnvelopePayload = {
      version: SEALED_VERSION,
      type: 'envelope',
      provider: str(o, 'provider', 'envelope'),
      key_id: str(o, 'key_id', 'envelope'),
      encrypted_key: str(o, 'encrypted_key', 'envelope'),
      encrypted_data: str(o, 'encrypted_data', 'envelope'),
      wrap_type: wrap,
      iv: str(o, 'iv', 'envelope'),
      provider_settings: obj(o, 'provider_settings', 'envelope'),
      annotations: obj(o, 'annotations', 'envelope'),
    };
    for (const k of ['encrypted_key', 'encrypted_data', 'iv'] as const) {
      if (!B64.test(p[k])) throw new SealedSecretError(`sealed secret (envelope): "${k}" must be standard base64`);
    }
    return p;
  }
  throw new SealedSecretError(
    `sealed secret: type must be "vault" or "envelope", got ${JSON.stringify(o.type ?? null)}`,
  );
}

/**
 * Split and decode without verifying (used for inspection and the legacy form). With `lenientHeader` (legacy mode
 * only) a header that is not JSON, as old tooling wrote, is read as `{}`.
 */
export function parseSealedSecret(value: string, opts: { lenientHeader?: boolean } = {}): ParsedSealedSecret {
  if (typeof value !== 'string') throw new SealedSecretError('sealed secret must be a string');
  if (value.length > MAX_SEALED_LENGTH)
    throw new SealedSecretError(`sealed secret is longer than ${MAX_SEALED_LENGTH} bytes`);
  const v = value.trim();
  if (!v.startsWith(SEALED_PREFIX)) throw new SealedSecretError('not a sealed secret: missing the "sealed." prefix');
  const jws = v.slice(SEALED_PREFIX.length);
  const parts = jws.split('.');
  if (parts.length !== 3)
    throw new SealedSecretError(
      `sealed secret: expected sealed.<header>.<payload>.<signature>, got ${parts.length + 1} parts`,
    );
  let header: unknown;
  try {
    header = decodePart(parts[0]!, 'header');
    if (!header || typeof header !== 'object' || Array.isArray(header))
      throw new SealedSecretError('sealed secret: header must be a JSON object');
  } catch (e) {
    if (!opts.lenientHeader) throw e;
    header = {};
  }
  return { header: header as Record<string, unknown>, payload: validatePayload(decodePart(parts[1]!, 'payload')), jws };
}

/** Returns the verification key for a `kid` (EC P-256 public JWK), or throws. */
export type SigningKeyResolver = (kid: string) => Promise<JWK | KeyObject>;

export interface VerifyOptions {
  resolveKey: SigningKeyResolver;
  /** Accept the legacy unsigned form (CDH `skip_sealed_secret_verification`). Off by default: INSECURE. */
  allowUnsigned?: boolean;
}

async function importVerificationKey(k: JWK | KeyObject, kid: string): Promise<KeyObject | CryptoKey> {
  if ((k as KeyObject).type !== undefined && typeof (k as KeyObject).export === 'function') {
    const ko = k as KeyObject;
    if (ko.asymmetricKeyType !== 'ec' || ko.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
      throw new SealedSecretError(`sealed secret: key "${kid}" must be EC P-256`);
    }
    return ko.type === 'private' ? createPublicKey(ko) : ko;
  }
  const j = k as JWK;
  if (j.kty !== 'EC' || j.crv !== 'P-256')
    throw new SealedSecretError(`sealed secret: key "${kid}" must be an EC P-256 JWK`);
  const { d: _d, ...pub } = j;
  try {
    return (await importJWK({ ...pub, alg: 'ES256' }, 'ES256')) as CryptoKey;
  } catch (e) {
    throw new SealedSecretError(`sealed secret: key "${kid}" is not a valid P-256 JWK`, { cause: e });
  }
}

/** Verify the ES256 signature (by `kid`) and return the payload. */
export async function verifySealedSecret(
  value: string,
  opts: VerifyOptions,
): Promise<ParsedSealedSecret & { verified: boolean }> {
  const parsed = parseSealedSecret(value, { lenientHeader: opts.allowUnsigned === true });
  const { header } = parsed;
  if (header.alg !== 'ES256' || typeof header.kid !== 'string' || header.kid.length === 0) {
    if (opts.allowUnsigned) return { ...parsed, verified: false };
    if (header.alg !== 'ES256') {
      throw new SealedSecretError(
        `sealed secret: signature algorithm must be ES256, got ${JSON.stringify(header.alg ?? null)} (unsigned legacy secrets are refused)`,
      );
    }
    throw new SealedSecretError('sealed secret: header has no "kid" naming the signing key');
  }
  if (Array.isArray(header.crit) && header.crit.length > 0) {
    throw new SealedSecretError(`sealed secret: unsupported critical header parameters ${JSON.stringify(header.crit)}`);
  }
  const kid = header.kid;
  let key: KeyObject | CryptoKey;
  try {
    key = await importVerificationKey(await opts.resolveKey(kid), kid);
  } catch (e) {
    if (e instanceof SealedSecretError) throw e;
    throw new SealedSecretError(`sealed secret: cannot get signing key "${kid}": ${(e as Error).message}`, {
      cause: e,
    });
  }
  try {
    await compactVerify(parsed.jws, key, { algorithms: ['ES256'] });
  } catch (e) {
    if (opts.allowUnsigned) return { ...parsed, verified: false };
    throw new SealedSecretError(`sealed secret: ES256 signature verification with key "${kid}" failed`, { cause: e });
  }
  return { ...parsed, verified: true };
}

/** Create a signed sealed secret (what `ccgpu secret seal` prints). */
export async function sealSecret(
  payload: SealedPayload,
  signing: { kid: string; privateJwk: JWK | KeyObject },
): Promise<string> {
  const p = validatePayload(payload);
  const key =
    typeof (signing.privateJwk as KeyObject).export === 'function'
      ? (signing.privateJwk as KeyObject)
      : ((await importJWK({ ...(signing.privateJwk as JWK), alg: 'ES256' }, 'ES256')) as CryptoKey);
  const jws = await new CompactSign(Buffer.from(JSON.stringify(p)))
    .setProtectedHeader({ b64: true, alg: 'ES256', kid: signing.kid } as unknown as { alg: string })
    .sign(key);
  return SEALED_PREFIX + jws;
}

/** Decrypt envelope data with the DEK: A256GCM (ciphertext‖tag, 12-byte iv) or A256CTR (16-byte iv). */
export function decryptEnvelopeData(dek: Buffer, p: EnvelopePayload): Buffer {
  if (dek.length !== 32)
    throw new SealedSecretError(`sealed secret (envelope): the data key must be 32 bytes, got ${dek.length}`);
  const iv = Buffer.from(p.iv, 'base64');
  const data = Buffer.from(p.encrypted_data, 'base64');
  try {
    if (p.wrap_type === 'A256GCM') {
      if (iv.length !== 12) throw new SealedSecretError('sealed secret (envelope): A256GCM iv must be 12 bytes');
      if (data.length < 16)
        throw new SealedSecretError('sealed secret (envelope): encrypted_data is shorter than the GCM tag');
      const d = createDecipheriv('aes-256-gcm', dek, iv);
      d.setAuthTag(data.subarray(data.length - 16));
      return Buffer.concat([d.update(data.subarray(0, data.length - 16)), d.final()]);
    }
    if (iv.length !== 16) throw new SealedSecretError('sealed secret (envelope): A256CTR iv must be 16 bytes');
    const d = createDecipheriv('aes-256-ctr', dek, iv);
    return Buffer.concat([d.update(data), d.final()]);
  } catch (e) {
    if (e instanceof SealedSecretError) throw e;
    throw new SealedSecretError('sealed secret (envelope): decrypting encrypted_data failed', { cause: e });
  }
}

/** Encrypt data for an envelope secret with a DEK (A256GCM): returns `encrypted_data` and `iv` (base64). */
export function encryptEnvelopeData(dek: Buffer, plaintext: Buffer): { encrypted_data: string; iv: string } {
  const iv = randomBytes(12);
  const c = createCipheriv('aes-256-gcm', dek, iv);
  const ct = Buffer.concat([c.update(plaintext), c.final(), c.getAuthTag()]);
  return { encrypted_data: ct.toString('base64'), iv: iv.toString('base64') };
}

/** RFC 3394 AES-256 key wrap / unwrap (the `kbs` envelope provider's `encrypted_key`). */
export function aesKeyWrap(kek: Buffer, key: Buffer): Buffer {
  const c = createCipheriv('id-aes256-wrap', kek, Buffer.from('A6A6A6A6A6A6A6A6', 'hex'));
  return Buffer.concat([c.update(key), c.final()]);
}
export function aesKeyUnwrap(kek: Buffer, wrapped: Buffer): Buffer {
  if (kek.length !== 32)
    throw new SealedSecretError(
      `sealed secret (envelope): the KBS key-encryption key must be 32 bytes, got ${kek.length}`,
    );
  try {
    const d = createDecipheriv('id-aes256-wrap', kek, Buffer.from('A6A6A6A6A6A6A6A6', 'hex'));
    return Buffer.concat([d.update(wrapped), d.final()]);
  } catch (e) {
    throw new SealedSecretError('sealed secret (envelope): unwrapping encrypted_key failed (wrong key?)', { cause: e });
  }
}

/** A vault payload naming a secret the provider resolves (for `kbs`: a kbs:/// resource URI). */
export function buildVaultPayload(
  name: string,
  provider = 'kbs',
  providerSettings: Record<string, unknown> = {},
): VaultPayload {
  return validatePayload({
    version: SEALED_VERSION,
    type: 'vault',
    name,
    provider,
    provider_settings: providerSettings,
    annotations: {},
  }) as VaultPayload;
}

/**
 * An envelope payload for the `kbs` provider: a fresh DEK encrypts `plaintext` (A256GCM) and is wrapped (RFC 3394)
 * with the 32-byte KEK that the KBS holds at `keyId`.
 */
export function buildKbsEnvelopePayload(plaintext: Buffer, kek: Buffer, keyId: string): EnvelopePayload {
  if (kek.length !== 32)
    throw new SealedSecretError(`envelope: the key-encryption key must be 32 bytes, got ${kek.length}`);
  const dek = randomBytes(32);
  try {
    return validatePayload({
      version: SEALED_VERSION,
      type: 'envelope',
      provider: 'kbs',
      key_id: keyId,
      encrypted_key: aesKeyWrap(kek, dek).toString('base64'),
      wrap_type: 'A256GCM',
      ...encryptEnvelopeData(dek, plaintext),
      provider_settings: {},
      annotations: {},
    }) as EnvelopePayload;
  } finally {
    dek.fill(0);
  }
}

/** A new ES256 signing key pair as JWKs (what `ccgpu secret keygen` writes). */
export function generateSealingKeyPair(kid: string): { privateJwk: JWK; publicJwk: JWK } {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const priv = privateKey.export({ format: 'jwk' }) as JWK;
  const pub = publicKey.export({ format: 'jwk' }) as JWK;
  return {
    privateJwk: { ...priv, alg: 'ES256', use: 'sig', kid },
    publicJwk: { ...pub, alg: 'ES256', use: 'sig', kid },
  };
}
