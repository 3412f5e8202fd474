/**
 * JWE and sealed-secret fuzzing shared by the vitest sample and the 100k-input script (test/fuzz/jwe-sealed.ts).
 *
 * - JWE: valid resource JWEs (P-256, P-521, RSA-OAEP-256) with bit flips, truncations, swapped/removed members,
 *   rewritten protected headers and non-object inputs, decrypted with the TEE key. Allowed outcomes: the original
 *   plaintext (only when the input is byte-identical in meaning) or a JweError. A different plaintext is a forgery.
 * - Sealed secrets: the Kata CI vector and our own, with character flips, truncations and extra dots, and random
 *   headers / payloads re-signed with a valid key (so payload validation and envelope decryption are reached).
 *   Allowed outcomes: verified with the unchanged payload, or a SealedSecretError.
 * Anything else is a crash and is thrown with the seed and input.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CompactSign, importJWK, type JWK } from 'jose';
import { decryptFromTee, encryptToTeePubkey, generateTeeKeyPair, JweError } from '../../../../attestation/kbs/index.js';
import {
  buildKbsEnvelopePayload,
  buildVaultPayload,
  generateSealingKeyPair,
  kbsSecretProvider,
  sealSecret,
  SealedSecretError,
  unsealSecret,
  verifySealedSecret,
} from '../../../../attestation/sealed/index.js';
import { prng } from '../verifier/fuzz-evidence.js';

export interface JweSealedFuzzStats {
  inputs: number;
  jweRejected: number;
  jweAccepted: number;
  sealedRejected: number;
  sealedAccepted: number;
}

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../..');
const vectors = path.resolve(repoRoot, '../shared/vectors/sealed');

function crash(kind: string, seed: number, i: number, input: unknown, e: unknown): Error {
  const shown = JSON.stringify(input)?.slice(0, 400);
  return new Error(`${kind} crash at input ${i} (seed ${seed}): ${(e as Error)?.stack ?? String(e)}\ninput: ${shown}`);
}

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

function mutateString(s: string, r: () => number): string {
  const pick = Math.floor(r() * 6);
  const at = Math.floor(r() * (s.length + 1));
  switch (pick) {
    case 0: // flip one character
      return s.slice(0, at) + B64[Math.floor(r() * 64)] + s.slice(at + 1);
    case 1: // truncate
      return s.slice(0, at);
    case 2: // insert junk (including non-base64url characters)
      return s.slice(0, at) + String.fromCharCode(32 + Math.floor(r() * 95)) + s.slice(at);
    case 3: {
      // bit flip in the decoded bytes
      const b = Buffer.from(s, 'base64url');
      if (b.length === 0) return 'A';
      const k = Math.floor(r() * b.length);
      b[k] = b[k]! ^ (1 << Math.floor(r() * 8));
      return b.toString('base64url');
    }
    case 4:
      return '';
    default: // duplicate a piece
      return s + s.slice(0, at);
  }
}

const HEADER_VARIANTS: Array<(h: Record<string, unknown>, r: () => number) => unknown> = [
  (h) => ({ ...h, alg: 'dir' }),
  (h) => ({ ...h, alg: 'RSA1_5' }),
  (h) => ({ ...h, enc: 'A128GCM' }),
  (h) => ({ ...h, enc: 'A256CBC-HS512' }),
  (h) => ({ ...h, epk: { kty: 'EC', crv: 'P-256', x: 'AAAA', y: 'BBBB' } }),
  (h) => ({ ...h, epk: 'not-an-object' }),
  (h) => ({ ...h, zip: 'DEF' }),
  (h) => ({ ...h, crit: ['exp'] }),
  () => [],
  () => 'string',
  () => null,
  (h, r) => Object.fromEntries(Object.entries(h).filter(() => r() < 0.5)),
];

export async function fuzzJweAndSealed(count: number, seed: number): Promise<JweSealedFuzzStats> {
  const r = prng(seed);
  const stats: JweSealedFuzzStats = { inputs: 0, jweRejected: 0, jweAccepted: 0, sealedRejected: 0, sealedAccepted: 0 };
  const plaintext = Buffer.from('fuzz-resource-plaintext');
  const keys = [generateTeeKeyPair('P-256'), generateTeeKeyPair('P-521'), generateTeeKeyPair('RSA')];
  const jwes = keys.map((k) => ({
    key: k,
    jwe: encryptToTeePubkey(plaintext, k.publicJwk) as unknown as Record<string, string>,
  }));

  const signing = generateSealingKeyPair('fuzz-key');
  const signKey = await importJWK({ ...signing.privateJwk, alg: 'ES256' }, 'ES256');
  const kek = Buffer.alloc(32, 7);
  const vector = readFileSync(path.join(vectors, 'precreated-test.sealed'), 'utf8').trim();
  const vectorJwk = JSON.parse(readFileSync(path.join(vectors, 'signing-public.jwk.json'), 'utf8')) as JWK;
  const ours = await sealSecret(buildVaultPayload('kbs:///default/key/x'), {
    kid: 'fuzz-key',
    privateJwk: signing.privateJwk,
  });
  const envelope = buildKbsEnvelopePayload(Buffer.from('envelope-data'), kek, 'kbs:///default/kek/1');
  const sealedSeeds = [
    { value: vector, key: vectorJwk },
    { value: ours, key: signing.publicJwk },
  ];
  const providers = {
    kbs: kbsSecretProvider(async (u) => (u === 'kbs:///default/kek/1' ? kek : Buffer.from('vault-value'))),
  };

  for (let i = 0; i < count; i++) {
    stats.inputs++;
    if (r() < 0.5) {
      // ---- JWE
      const { key, jwe } = jwes[Math.floor(r() * jwes.length)]!;
      let input: unknown;
      const mode = r();
      if (mode < 0.55) {
        const fields = Object.keys(jwe);
        const f = fields[Math.floor(r() * fields.length)]!;
        input = { ...jwe, [f]: mutateString(jwe[f]!, r) };
      } else if (mode < 0.8) {
        const h = JSON.parse(Buffer.from(jwe.protected!, 'base64url').toString()) as Record<string, unknown>;
        const v = HEADER_VARIANTS[Math.floor(r() * HEADER_VARIANTS.length)]!(h, r);
        input = { ...jwe, protected: Buffer.from(JSON.stringify(v) ?? 'x').toString('base64url') };
      } else if (mode < 0.9) {
        const other = jwes[Math.floor(r() * jwes.length)]!.jwe;
        const fields = Object.keys(jwe);
        const f = fields[Math.floor(r() * fields.length)]!;
        input =
          r() < 0.5 ? { ...jwe, [f]: other[f] } : Object.fromEntries(Object.entries(jwe).filter(([k]) => k !== f));
      } else {
        const junk = [null, 1, 'str', [], [jwe], { ...jwe, iv: 5 }, { ...jwe, aad: 'AAAA' }, { protected: {} }];
        input = junk[Math.floor(r() * junk.length)];
      }
      try {
        const out = await decryptFromTee(input, key.privateKey);
        if (!out.equals(plaintext)) throw new Error('decrypted to a different plaintext (forgery)');
        stats.jweAccepted++;
      } catch (e) {
        if (e instanceof JweError) stats.jweRejected++;
        else throw crash('JWE', seed, i, input, e);
      }
    } else {
      // ---- sealed secrets
      const s = sealedSeeds[Math.floor(r() * sealedSeeds.length)]!;
      let input: string;
      let key: JWK = s.key;
      const mode = r();
      const mutatedSeed = mode < 0.55;
      if (mode < 0.45) {
        const parts = s.value.slice('sealed.'.length).split('.');
        const k = Math.floor(r() * 3);
        parts[k] = mutateString(parts[k]!, r);
        input = 'sealed.' + parts.join('.');
      } else if (mode < 0.55) {
        input = mutateString(s.value, r);
      } else {
        // re-signed random header / payload: reaches payload validation and envelope decryption
        key = signing.publicJwk;
        const base: Record<string, unknown> =
          r() < 0.5 ? { ...envelope } : { ...buildVaultPayload('kbs:///default/key/x') };
        const fields = Object.keys(base);
        const f = fields[Math.floor(r() * fields.length)]!;
        const replacements: unknown[] = [
          null,
          1,
          '',
          'x',
          [],
          {},
          '0.2.0',
          'A256CTR',
          'AAAA',
          Buffer.alloc(16).toString('base64'),
          'kbs:///a/b/c',
        ];
        const payload =
          r() < 0.2
            ? replacements[Math.floor(r() * replacements.length)]
            : { ...base, [f]: replacements[Math.floor(r() * replacements.length)] };
        const header =
          r() < 0.85 ? { alg: 'ES256', kid: 'fuzz-key' } : { alg: 'ES256', kid: 'fuzz-key', crit: ['b64'], b64: false };
        try {
          input =
            'sealed.' +
            (await new CompactSign(Buffer.from(JSON.stringify(payload) ?? 'null'))
              .setProtectedHeader(header as { alg: string })
              .sign(signKey));
        } catch {
          input = 'sealed.' + Buffer.from(JSON.stringify(header)).toString('base64url') + '.e30.AAAA';
        }
      }
      try {
        const allowUnsigned = r() < 0.1;
        const v = await verifySealedSecret(input, { resolveKey: async () => key, allowUnsigned });
        if (
          mutatedSeed &&
          v.verified &&
          JSON.stringify(v.payload) !==
            JSON.stringify((await verifySealedSecret(s.value, { resolveKey: async () => s.key })).payload)
        ) {
          throw new Error('a mutated secret verified with a different payload (forgery)');
        }
        if (v.payload.type === 'envelope' || r() < 0.2)
          await unsealSecret(input, { resolveKey: async () => key, providers, allowUnsigned });
        stats.sealedAccepted++;
      } catch (e) {
        if (e instanceof SealedSecretError) stats.sealedRejected++;
        else throw crash('sealed secret', seed, i, input, e);
      }
    }
  }
  return stats;
}
