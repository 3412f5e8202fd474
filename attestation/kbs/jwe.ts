/**
 * Resource responses as RFC 7516 flattened JWE to the TEE public key.
 *
 * Encryption is done by hand with node:crypto so the protected header is compact JSON with keys in the order
 * `alg`, `enc`, `epk{crv,kty,x,y}` (the Rust client re-serializes the header to recompute the AAD, so the exact bytes
 * matter, see the KBS notes §1.6). Key management: ECDH-ES+A256KW (P-256, P-384, P-521; Concat KDF SHA-256) or
 * RSA-OAEP-256; content encryption A256GCM. Decryption uses `jose` with both lists pinned.
 */
import {
  constants,
  createCipheriv,
  createHash,
  createPublicKey,
  diffieHellman,
  generateKeyPairSync,
  publicEncrypt,
  randomBytes,
  type KeyObject,
} from 'node:crypto';
import { flattenedDecrypt, type JWK } from 'jose';
import type { FlattenedJwe, TeePubkey } from './protocol.js';

export const JWE_KEY_ALGORITHMS = ['ECDH-ES+A256KW', 'RSA-OAEP-256'] as const;
export type JweKeyAlgorithm = (typeof JWE_KEY_ALGORITHMS)[number];
export const JWE_CONTENT_ENCRYPTION = 'A256GCM';

const EC_CURVES: Record<string, string> = { 'P-256': 'prime256v1', 'P-384': 'secp384r1', 'P-521': 'secp521r1' };
const MAX_JWE_FIELD = 64 * 1024 * 1024;

export class JweError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'JweError';
  }
}

const b64u = (b: Buffer | string): string => Buffer.from(b).toString('base64url');

/** Validate a tee-pubkey JWK and return its key algorithm and Node key. */
export function importTeePubkey(jwk: unknown): { alg: JweKeyAlgorithm; key: KeyObject; jwk: TeePubkey } {
  if (!jwk || typeof jwk !== 'object' || Array.isArray(jwk)) throw new JweError('tee-pubkey must be a JWK object');
  const k = jwk as Record<string, unknown>;
  if ('d' in k || 'p' in k || 'q' in k)
    throw new JweError('tee-pubkey must be a public key (it contains private members)');
  let alg: JweKeyAlgorithm;
  if (k.kty === 'EC') {
    if (typeof k.crv !== 'string' || !(k.crv in EC_CURVES)) {
      throw new JweError(`tee-pubkey: EC curve must be P-256, P-384 or P-521, got ${JSON.stringify(k.crv ?? null)}`);
    }
    if (k.alg !== undefined && k.alg !== 'ECDH-ES+A256KW') {
      throw new JweError(`tee-pubkey: EC key alg must be ECDH-ES+A256KW, got ${JSON.stringify(k.alg)}`);
    }
    if (typeof k.x !== 'string' || typeof k.y !== 'string') throw new JweError('tee-pubkey: EC key needs x and y');
    alg = 'ECDH-ES+A256KW';
  } else if (k.kty === 'RSA') {
    if (k.alg !== undefined && k.alg !== 'RSA-OAEP-256') {
      throw new JweError(
        `tee-pubkey: RSA key alg must be RSA-OAEP-256 (RSA1_5 is refused), got ${JSON.stringify(k.alg)}`,
      );
    }
    if (typeof k.n !== 'string' || typeof k.e !== 'string') throw new JweError('tee-pubkey: RSA key needs n and e');
    alg = 'RSA-OAEP-256';
  } else {
    throw new JweError(`tee-pubkey: kty must be EC or RSA, got ${JSON.stringify(k.kty ?? null)}`);
  }
  let key: KeyObject;
  try {
    key = createPublicKey({ key: k as import('node:crypto').JsonWebKey, format: 'jwk' });
  } catch (e) {
    throw new JweError(`tee-pubkey: not a valid ${String(k.kty)} public key: ${(e as Error).message}`, { cause: e });
  }
  if (alg === 'RSA-OAEP-256' && (key.asymmetricKeyDetails?.modulusLength ?? 0) < 2048) {
    throw new JweError('tee-pubkey: RSA modulus must be at least 2048 bits');
  }
  return { alg, key, jwk: k as TeePubkey };
}

function u32be(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
}

/** RFC 7518 §4.6.2 Concat KDF with SHA-256 for one key of at most 256 bits (PartyU/V empty unless given). */
export function concatKdf(
  z: Buffer,
  algorithmId: string,
  keyBits = 256,
  apu = Buffer.alloc(0),
  apv = Buffer.alloc(0),
): Buffer {
  if (keyBits > 256 || keyBits % 8 !== 0) throw new JweError(`Concat KDF: unsupported key size ${keyBits}`);
  const alg = Buffer.from(algorithmId, 'ascii');
  const otherInfo = Buffer.concat([
    u32be(alg.length),
    alg,
    u32be(apu.length),
    apu,
    u32be(apv.length),
    apv,
    u32be(keyBits),
  ]);
  return createHash('sha256')
    .update(Buffer.concat([u32be(1), z, otherInfo]))
    .digest()
    .subarray(0, keyBits / 8);
}

function aesKeyWrap(kek: Buffer, cek: Buffer): Buffer {
  const c = createCipheriv('id-aes256-wrap', kek, Buffer.from('A6A6A6A6A6A6A6A6', 'hex'));
  return Buffer.concat([c.update(cek), c.final()]);
}

/** Encrypt `plaintext` to the TEE public key as a flattened JWE. */
export function encryptToTeePubkey(plaintext: Buffer | Uint8Array, teePubkey: unknown): FlattenedJwe {
  const { alg, key, jwk } = importTeePubkey(teePubkey);
  const cek = randomBytes(32);
  let header: string;
  let encryptedKey: Buffer;
  if (alg === 'ECDH-ES+A256KW') {
    const crv = jwk.crv as string;
    const eph = generateKeyPairSync('ec', { namedCurve: EC_CURVES[crv]! });
    const z = diffieHellman({ privateKey: eph.privateKey, publicKey: key });
    const kek = concatKdf(z, alg);
    encryptedKey = aesKeyWrap(kek, cek);
    const ej = eph.publicKey.export({ format: 'jwk' });
    header = JSON.stringify({ alg, enc: JWE_CONTENT_ENCRYPTION, epk: { crv, kty: 'EC', x: ej.x, y: ej.y } });
  } else {
    encryptedKey = publicEncrypt({ key, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, cek);
    header = JSON.stringify({ alg, enc: JWE_CONTENT_ENCRYPTION });
  }
  const protectedB64 = b64u(header);
  const iv = randomBytes(12);
  const gcm = createCipheriv('aes-256-gcm', cek, iv);
  gcm.setAAD(Buffer.from(protectedB64, 'ascii'));
  const ciphertext = Buffer.concat([gcm.update(plaintext), gcm.final()]);
  return {
    protected: protectedB64,
    encrypted_key: b64u(encryptedKey),
    iv: b64u(iv),
    ciphertext: b64u(ciphertext),
    tag: b64u(gcm.getAuthTag()),
  };
}

const B64URL = /^[A-Za-z0-9_-]*$/;

/** Check the shape of a flattened JWE as received (strings, base64url, sizes) before any crypto. */
export function parseFlattenedJwe(x: unknown): FlattenedJwe {
  if (!x || typeof x !== 'object' || Array.isArray(x))
    throw new JweError('JWE: expected a JSON object (flattened serialization)');
  const o = x as Record<string, unknown>;
  for (const k of Object.keys(o)) {
    // a KBS never sends aad / unprotected headers; refusing them keeps the AAD exactly ASCII(protected)
    if (!['protected', 'encrypted_key', 'iv', 'ciphertext', 'tag'].includes(k))
      throw new JweError(`JWE: unexpected member "${k}"`);
  }
  for (const f of ['protected', 'encrypted_key', 'iv', 'ciphertext', 'tag'] as const) {
    const v = o[f];
    if (typeof v !== 'string') throw new JweError(`JWE: member "${f}" must be a string`);
    if (!B64URL.test(v)) throw new JweError(`JWE: member "${f}" is not base64url`);
    if (v.length > MAX_JWE_FIELD) throw new JweError(`JWE: member "${f}" is too large`);
  }
  if (Buffer.from(o.iv as string, 'base64url').length !== 12) throw new JweError('JWE: iv must be 12 bytes');
  if (Buffer.from(o.tag as string, 'base64url').length !== 16) throw new JweError('JWE: tag must be 16 bytes');
  let header: unknown;
  try {
    header = JSON.parse(Buffer.from(o.protected as string, 'base64url').toString('utf8'));
  } catch (e) {
    throw new JweError('JWE: protected header is not base64url JSON', { cause: e });
  }
  if (!header || typeof header !== 'object' || Array.isArray(header))
    throw new JweError('JWE: protected header must be an object');
  const h = header as Record<string, unknown>;
  if (h.enc !== JWE_CONTENT_ENCRYPTION)
    throw new JweError(`JWE: enc must be A256GCM, got ${JSON.stringify(h.enc ?? null)}`);
  if (!(JWE_KEY_ALGORITHMS as readonly unknown[]).includes(h.alg)) {
    throw new JweError(
      `JWE: alg must be one of ${JWE_KEY_ALGORITHMS.join(', ')}, got ${JSON.stringify(h.alg ?? null)}`,
    );
  }
  return {
    protected: o.protected as string,
    encrypted_key: o.encrypted_key as string,
    iv: o.iv as string,
    ciphertext: o.ciphertext as string,
    tag: o.tag as string,
  };
}

/** Decrypt a flattened JWE with the TEE private key. Any failure is a JweError. */
export async function decryptFromTee(jwe: unknown, privateKey: KeyObject | JWK): Promise<Buffer> {
  const parsed = parseFlattenedJwe(jwe);
  try {
    const key = (privateKey as KeyObject).type === 'private' ? (privateKey as KeyObject) : (privateKey as JWK);
    const r = await flattenedDecrypt(parsed, key, {
      keyManagementAlgorithms: [...JWE_KEY_ALGORITHMS],
      contentEncryptionAlgorithms: [JWE_CONTENT_ENCRYPTION],
    });
    return Buffer.from(r.plaintext);
  } catch (e) {
    throw new JweError(`JWE: decryption failed: ${(e as Error).message}`, { cause: e });
  }
}

/** A fresh TEE key pair (P-256 ECDH-ES+A256KW by default, the guest-components default). */
export function generateTeeKeyPair(kind: 'P-256' | 'P-384' | 'P-521' | 'RSA' = 'P-256'): {
  privateKey: KeyObject;
  publicJwk: TeePubkey;
} {
  if (kind === 'RSA') {
    const kp = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const j = kp.publicKey.export({ format: 'jwk' });
    return { privateKey: kp.privateKey, publicJwk: { kty: 'RSA', alg: 'RSA-OAEP-256', n: j.n, e: j.e } };
  }
  const kp = generateKeyPairSync('ec', { namedCurve: EC_CURVES[kind]! });
  const j = kp.publicKey.export({ format: 'jwk' });
  return { privateKey: kp.privateKey, publicJwk: { kty: 'EC', crv: kind, alg: 'ECDH-ES+A256KW', x: j.x, y: j.y } };
}
