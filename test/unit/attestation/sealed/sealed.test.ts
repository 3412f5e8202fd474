import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { JWK } from 'jose';
import { describe, expect, it } from 'vitest';
import {
  aesKeyWrap,
  encryptEnvelopeData,
  isSealedSecret,
  kbsSecretProvider,
  parseSealedSecret,
  sealSecret,
  SealedSecretError,
  unsealSecret,
  verifySealedSecret,
} from '../../../../attestation/sealed/index.js';

const vectors = path.resolve(__dirname, '../../../../../shared/vectors/sealed');
const SEALED = readFileSync(path.join(vectors, 'precreated-test.sealed'), 'utf8').trim();
const JWK_PUB = JSON.parse(readFileSync(path.join(vectors, 'signing-public.jwk.json'), 'utf8')) as JWK;

describe('sealed secrets', () => {
  it('verifies the Kata CI vector and reads its vault payload', async () => {
    const kids: string[] = [];
    const r = await verifySealedSecret(SEALED, { resolveKey: async (kid) => (kids.push(kid), JWK_PUB) });
    expect(r.verified).toBe(true);
    expect(kids).toEqual(['kbs:///default/signing-key/sealed-secret']);
    expect(r.payload).toMatchObject({
      version: '0.1.0',
      type: 'vault',
      name: 'kbs:///default/sealed-secret/test',
      provider: 'kbs',
    });
    const plain = await unsealSecret(SEALED, {
      resolveKey: async () => JWK_PUB,
      providers: {
        kbs: kbsSecretProvider(async (uri) =>
          uri === 'kbs:///default/sealed-secret/test'
            ? Buffer.from('unsealed_secret')
            : Promise.reject(new Error('no ' + uri)),
        ),
      },
    });
    expect(plain.toString()).toBe('unsealed_secret');
  });

  it('rejects a changed payload character and a wrong key', async () => {
    const parts = SEALED.split('.');
    const p = parts[2]!;
    const i = 20;
    parts[2] = p.slice(0, i) + (p[i] === 'A' ? 'B' : 'A') + p.slice(i + 1);
    const tampered = parts.join('.');
    await expect(verifySealedSecret(tampered, { resolveKey: async () => JWK_PUB })).rejects.toThrow(
      /signature verification .* failed|not JSON|base64/,
    );
    const other = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey.export({ format: 'jwk' }) as JWK;
    await expect(verifySealedSecret(SEALED, { resolveKey: async () => other })).rejects.toThrow(
      /ES256 signature verification/,
    );
    await expect(
      verifySealedSecret(SEALED, { resolveKey: async () => ({ kty: 'OKP', crv: 'Ed25519', x: 'AAAA' }) }),
    ).rejects.toThrow(/P-256/);
    await expect(
      verifySealedSecret(SEALED, { resolveKey: async () => Promise.reject(new Error('KBS said no')) }),
    ).rejects.toThrow(/cannot get signing key .*KBS said no/);
  });

  it('refuses the unsigned legacy form unless explicitly allowed', async () => {
    const payload = Buffer.from(
      JSON.stringify({
        version: '0.1.0',
        type: 'vault',
        name: 'kbs:///a/b/c',
        provider: 'kbs',
        provider_settings: {},
        annotations: {},
      }),
    ).toString('base64url');
    const legacy = `sealed.fakejwsheader.${payload}.fakesignature`;
    await expect(verifySealedSecret(legacy, { resolveKey: async () => JWK_PUB })).rejects.toThrow(SealedSecretError);
    // legacy tooling wrote junk headers: accepted only in allowUnsigned mode, and never reported as verified
    const ok = await verifySealedSecret(legacy, { resolveKey: async () => JWK_PUB, allowUnsigned: true });
    expect(ok.verified).toBe(false);
    expect(ok.payload.type).toBe('vault');
    const hdr = Buffer.from('{"alg":"none"}').toString('base64url');
    const legacy2 = `sealed.${hdr}.${payload}.fakesignature`;
    await expect(verifySealedSecret(legacy2, { resolveKey: async () => JWK_PUB })).rejects.toThrow(
      /must be ES256.*unsigned legacy secrets are refused/,
    );
    const r = await verifySealedSecret(legacy2, { resolveKey: async () => JWK_PUB, allowUnsigned: true });
    expect(r.verified).toBe(false);
    expect(r.payload.type).toBe('vault');
  });

  it('seals and unseals vault and envelope secrets', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const priv = privateKey.export({ format: 'jwk' }) as JWK;
    const pub = publicKey.export({ format: 'jwk' }) as JWK;
    const kid = 'kbs:///default/signing-key/k1';
    const vault = await sealSecret(
      {
        version: '0.1.0',
        type: 'vault',
        name: 'kbs:///default/x/y',
        provider: 'kbs',
        provider_settings: {},
        annotations: {},
      },
      { kid, privateJwk: priv },
    );
    expect(isSealedSecret(vault)).toBe(true);
    expect(parseSealedSecret(vault).header).toEqual({ b64: true, alg: 'ES256', kid });
    const kek = randomBytes(32);
    const dek = randomBytes(32);
    const store = new Map<string, Buffer>([
      ['kbs:///default/x/y', Buffer.from('vault value')],
      ['kbs:///default/kek/1', kek],
    ]);
    const providers = {
      kbs: kbsSecretProvider(async (u) => store.get(u) ?? Promise.reject(new Error(`missing ${u}`))),
    };
    expect((await unsealSecret(vault, { resolveKey: async () => pub, providers })).toString()).toBe('vault value');
    const env = await sealSecret(
      {
        version: '0.1.0',
        type: 'envelope',
        provider: 'kbs',
        key_id: 'kbs:///default/kek/1',
        encrypted_key: aesKeyWrap(kek, dek).toString('base64'),
        wrap_type: 'A256GCM',
        ...encryptEnvelopeData(dek, Buffer.from('envelope value')),
        provider_settings: {},
        annotations: {},
      },
      { kid, privateJwk: privateKey },
    );
    expect((await unsealSecret(env, { resolveKey: async () => pub, providers })).toString()).toBe('envelope value');
    store.set('kbs:///default/kek/1', randomBytes(32));
    await expect(unsealSecret(env, { resolveKey: async () => pub, providers })).rejects.toThrow(
      /unwrapping encrypted_key failed/,
    );
    await expect(unsealSecret(vault, { resolveKey: async () => pub, providers: {} })).rejects.toThrow(
      /provider "kbs" is not available/,
    );
  });

  it('validates payloads with clear errors', () => {
    const mk = (p: unknown) =>
      `sealed.${Buffer.from('{"alg":"ES256","kid":"k"}').toString('base64url')}.${Buffer.from(JSON.stringify(p)).toString('base64url')}.sig`;
    expect(() => parseSealedSecret(mk({ version: '0.2.0', type: 'vault' }))).toThrow(/version must be "0.1.0"/);
    expect(() => parseSealedSecret(mk({ version: '0.1.0', type: 'x' }))).toThrow(/type must be "vault" or "envelope"/);
    expect(() => parseSealedSecret(mk({ version: '0.1.0', type: 'vault', provider: 'kbs' }))).toThrow(/"name" must be/);
    expect(() =>
      parseSealedSecret(mk({ version: '0.1.0', type: 'envelope', provider: 'kbs', wrap_type: 'RC4' })),
    ).toThrow(/wrap_type/);
    expect(() => parseSealedSecret('notsealed.x')).toThrow(/prefix/);
    expect(() => parseSealedSecret('sealed.a.b')).toThrow(/got 3 parts/);
  });
});
