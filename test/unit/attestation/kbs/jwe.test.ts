import { generateKeyPairSync } from 'node:crypto';
import { flattenedDecrypt } from 'jose';
import { describe, expect, it } from 'vitest';
import {
  concatKdf,
  decryptFromTee,
  encryptToTeePubkey,
  generateTeeKeyPair,
  JweError,
} from '../../../../attestation/kbs/index.js';

const MSG = Buffer.from('this is a test data');

describe('resource JWE', () => {
  for (const kind of ['P-256', 'P-521', 'RSA'] as const) {
    it(`${kind}: jose flattenedDecrypt recovers the plaintext; header compact and ordered`, async () => {
      const { privateKey, publicJwk } = generateTeeKeyPair(kind);
      const jwe = encryptToTeePubkey(MSG, publicJwk);
      expect(Object.keys(jwe).sort()).toEqual(['ciphertext', 'encrypted_key', 'iv', 'protected', 'tag']);
      expect('aad' in jwe).toBe(false);
      expect(Buffer.from(jwe.iv, 'base64url').length).toBe(12);
      expect(Buffer.from(jwe.tag, 'base64url').length).toBe(16);
      const header = Buffer.from(jwe.protected, 'base64url').toString();
      const h = JSON.parse(header) as Record<string, unknown>;
      expect(header).toBe(JSON.stringify(h)); // compact
      if (kind === 'RSA') {
        expect(header).toBe('{"alg":"RSA-OAEP-256","enc":"A256GCM"}');
      } else {
        expect(Object.keys(h)).toEqual(['alg', 'enc', 'epk']);
        expect(Object.keys(h.epk as object)).toEqual(['crv', 'kty', 'x', 'y']);
        expect(h.alg).toBe('ECDH-ES+A256KW');
        expect((h.epk as { crv: string }).crv).toBe(kind);
        expect(Buffer.from(jwe.encrypted_key, 'base64url').length).toBe(40);
      }
      const r = await flattenedDecrypt(jwe, privateKey);
      expect(Buffer.from(r.plaintext).equals(MSG)).toBe(true);
      expect((await decryptFromTee(jwe, privateKey)).equals(MSG)).toBe(true);
    });
  }

  it('Concat KDF matches RFC 7518 Appendix C', () => {
    const z = Buffer.from([
      158, 86, 217, 29, 129, 113, 53, 211, 114, 131, 66, 131, 191, 132, 38, 156, 251, 49, 110, 163, 218, 128, 106, 72,
      246, 218, 167, 121, 140, 254, 144, 196,
    ]);
    const out = concatKdf(z, 'A128GCM', 128, Buffer.from('Alice'), Buffer.from('Bob'));
    expect([...out]).toEqual([86, 170, 141, 234, 248, 35, 109, 32, 92, 34, 40, 205, 113, 167, 16, 26]);
  });

  it('refuses tampering, wrong keys and bad key types', async () => {
    const a = generateTeeKeyPair('P-256');
    const b = generateTeeKeyPair('P-256');
    const jwe = encryptToTeePubkey(MSG, a.publicJwk);
    await expect(decryptFromTee(jwe, b.privateKey)).rejects.toBeInstanceOf(JweError);
    const ct = Buffer.from(jwe.ciphertext, 'base64url');
    ct[0]! ^= 1;
    await expect(decryptFromTee({ ...jwe, ciphertext: ct.toString('base64url') }, a.privateKey)).rejects.toThrow(
      /decryption failed/,
    );
    await expect(decryptFromTee({ ...jwe, iv: 'AAAA' }, a.privateKey)).rejects.toThrow(/iv must be 12 bytes/);
    await expect(decryptFromTee('x', a.privateKey)).rejects.toThrow(/JSON object/);
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({ format: 'jwk' });
    expect(() => encryptToTeePubkey(MSG, { ...rsa, alg: 'RSA1_5' })).toThrow(/RSA1_5 is refused/);
    expect(() => encryptToTeePubkey(MSG, { kty: 'oct', k: 'AAAA' })).toThrow(/kty must be EC or RSA/);
    expect(() => encryptToTeePubkey(MSG, { kty: 'EC', crv: 'P-256', x: 'AAAA', y: 'BBBB' })).toThrow(
      /not a valid EC public key/,
    );
    const priv = a.privateKey.export({ format: 'jwk' });
    expect(() => encryptToTeePubkey(MSG, priv)).toThrow(/private members/);
  });
});
