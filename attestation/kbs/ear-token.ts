/**
 * The attestation result token: an EAR (IETF RATS) JWT signed ES256 with the signing key's public JWK in the
 * JOSE header, as Trustee's attestation service issues it (§1.7).
 */
import { createPublicKey, generateKeyPairSync, randomUUID, type KeyObject } from 'node:crypto';
import { decodeJwt, jwtVerify, SignJWT, type JWTPayload } from 'jose';
import { EAR_ANNOTATED_EVIDENCE, EAR_PROFILE, type TeePubkey } from './protocol.js';

export const TRUST_CLAIM_NAMES = [
  'instance-identity',
  'configuration',
  'executables',
  'file-system',
  'hardware',
  'runtime-opaque',
  'storage-opaque',
  'sourced-data',
] as const;
export type TrustClaimName = (typeof TRUST_CLAIM_NAMES)[number];
export type TrustVector = Partial<Record<TrustClaimName, number>>;
export type EarStatus = 'none' | 'affirming' | 'warning' | 'contraindicated';

/** EAR tier of one trust claim value: 0 none, 2–31 affirming, 32–95 warning, 96–127 contraindicated. */
export function trustTier(v: number): EarStatus {
  if (v >= 96) return 'contraindicated';
  if (v >= 32) return 'warning';
  if (v >= 2) return 'affirming';
  return 'none';
}

/** Overall status: the worst tier of any claim. */
export function earStatus(tv: TrustVector): EarStatus {
  const order: EarStatus[] = ['none', 'affirming', 'warning', 'contraindicated'];
  let worst = 0;
  for (const v of Object.values(tv)) if (typeof v === 'number') worst = Math.max(worst, order.indexOf(trustTier(v)));
  return order[worst]!;
}

export interface Submod {
  'ear.status': EarStatus;
  'ear.trustworthiness-vector': TrustVector;
  'ear.appraisal-policy-id': string;
  'ear.veraison.annotated-evidence': Record<string, unknown>;
}

export interface EarClaims extends JWTPayload {
  eat_profile: string;
  'ear.verifier-id': { developer: string; build: string };
  submods: Record<string, Submod>;
}

export interface EarSigner {
  privateKey: KeyObject;
  publicJwk: Record<string, unknown>;
  publicKey: KeyObject;
}

/** An ES256 signing key for tokens (ephemeral unless the server is given one). */
export function generateEarSigner(): EarSigner {
  const kp = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  return fromEarPrivateKey(kp.privateKey);
}

export function fromEarPrivateKey(privateKey: KeyObject): EarSigner {
  if (privateKey.asymmetricKeyType !== 'ec' || privateKey.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
    throw new Error('EAR token signing key must be an EC P-256 private key');
  }
  const publicKey = createPublicKey(privateKey);
  const j = publicKey.export({ format: 'jwk' });
  return { privateKey, publicKey, publicJwk: { kty: 'EC', crv: 'P-256', alg: 'ES256', x: j.x, y: j.y } };
}

export interface IssueTokenInput {
  submods: Record<string, Submod>;
  lifetimeSeconds: number;
  issuer?: string;
  now?: number;
}

export async function issueEarToken(signer: EarSigner, input: IssueTokenInput): Promise<string> {
  const now = Math.floor((input.now ?? Date.now()) / 1000);
  return new SignJWT({
    eat_profile: EAR_PROFILE,
    'ear.verifier-id': { developer: 'https://github.com/ccgpu', build: 'ccgpu-kbs' },
    submods: input.submods,
  })
    .setProtectedHeader({ alg: 'ES256', typ: 'JWT', jwk: signer.publicJwk })
    .setIssuer(input.issuer ?? 'CoCo-Attestation-Service')
    .setIssuedAt(now)
    .setExpirationTime(now + input.lifetimeSeconds)
    .setJti(randomUUID())
    .sign(signer.privateKey);
}

/** Verify a token with the KBS's own key (never the key in the header). Throws on any problem. */
export async function verifyEarToken(token: string, publicKey: KeyObject, now?: number): Promise<EarClaims> {
  const { payload } = await jwtVerify(token, publicKey, {
    algorithms: ['ES256'],
    ...(now !== undefined ? { currentDate: new Date(now) } : {}),
  });
  if (payload.eat_profile !== EAR_PROFILE || !payload.submods || typeof payload.submods !== 'object') {
    throw new Error('token is not an EAR attestation result');
  }
  return payload as EarClaims;
}

/** `exp` of a token without verifying it (the client caches tokens until then). */
export function tokenExpiry(token: string): number | undefined {
  try {
    const p = decodeJwt(token);
    return typeof p.exp === 'number' ? p.exp * 1000 : undefined;
  } catch {
    return undefined;
  }
}

function pointer(obj: unknown, path: string[]): unknown {
  let cur = obj;
  for (const p of path) {
    if (!cur || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[p];
  }
  return cur;
}

/** Where the KBS looks for the TEE key in token claims, in Trustee's order. */
const TEE_PUBKEY_POINTERS: string[][] = [
  ['tdx', 'attester_runtime_data', 'tee-pubkey'],
  ['tdx', 'attester_user_data', 'tee-pubkey'],
  ['customized_claims', 'runtime_data', 'tee-pubkey'],
  ['submods', 'cpu0', EAR_ANNOTATED_EVIDENCE, 'runtime_data_claims', 'tee-pubkey'],
  ['tee-pubkey'],
];

export function teePubkeyFromClaims(claims: unknown): TeePubkey | undefined {
  for (const p of TEE_PUBKEY_POINTERS) {
    const v = pointer(claims, p);
    if (v && typeof v === 'object') return v as TeePubkey;
  }
  return undefined;
}

export function initDataClaimsFromToken(claims: unknown): unknown {
  return pointer(claims, ['submods', 'cpu0', EAR_ANNOTATED_EVIDENCE, 'init_data_claims']);
}
