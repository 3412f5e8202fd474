/**
 * Admin API authentication: `Authorization: Bearer <JWT>` signed EdDSA (Ed25519) by the configured key, with
 * `exp` required (kbs-client issues 2 h tokens). Also the explicit `insecure-allow-all` and `deny-all` modes.
 */
import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { jwtVerify, SignJWT } from 'jose';

export type AdminAuth =
  { mode: 'ed25519'; publicKey: KeyObject } | { mode: 'insecure-allow-all' } | { mode: 'deny-all' };

export function adminAuthFromPem(pem: string, file = 'admin public key'): AdminAuth {
  let key: KeyObject;
  try {
    key = createPublicKey(pem);
  } catch (e) {
    throw new Error(`${file}: not a PEM public key: ${(e as Error).message}`, { cause: e });
  }
  if (key.asymmetricKeyType !== 'ed25519') {
    throw new Error(`${file}: admin key must be Ed25519, got ${key.asymmetricKeyType ?? 'unknown'}`);
  }
  return { mode: 'ed25519', publicKey: key };
}

/** Verify the admin bearer token; returns a reason string when refused, undefined when accepted. */
export async function checkAdmin(
  auth: AdminAuth,
  authorization: string | undefined,
  now?: number,
): Promise<string | undefined> {
  if (auth.mode === 'insecure-allow-all') return undefined;
  if (auth.mode === 'deny-all') return 'the admin API is disabled (deny-all)';
  if (!authorization) return 'missing Authorization: Bearer <admin JWT>';
  const m = /^Bearer\s+([A-Za-z0-9_.-]+)$/.exec(authorization);
  if (!m) return 'Authorization header is not "Bearer <JWT>"';
  try {
    await jwtVerify(m[1]!, auth.publicKey, {
      algorithms: ['EdDSA'],
      requiredClaims: ['exp'],
      ...(now !== undefined ? { currentDate: new Date(now) } : {}),
    });
    return undefined;
  } catch (e) {
    return `admin JWT rejected: ${(e as Error).message}`;
  }
}

/** Sign an admin token (what `ccgpu kbs` admin commands and kbs-client do). */
export async function signAdminToken(privateKeyPem: string | KeyObject, lifetimeSeconds = 7200): Promise<string> {
  const key = typeof privateKeyPem === 'string' ? createPrivateKey(privateKeyPem) : privateKeyPem;
  if (key.asymmetricKeyType !== 'ed25519') throw new Error('admin signing key must be Ed25519');
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({})
    .setProtectedHeader({ alg: 'EdDSA', typ: 'JWT' })
    .setIssuedAt(now)
    .setNotBefore(now)
    .setExpirationTime(now + lifetimeSeconds)
    .sign(key);
}
