import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  canonicalJson,
  deviceRuntimeData,
  primaryRuntimeData,
  regularizeDigest,
  runtimeDataDigest,
  selectedHashAlgorithm,
} from '../../../../attestation/kbs/index.js';

describe('RFC 8785 canonical JSON', () => {
  it('matches the trustee attestation-service vector', () => {
    const s = canonicalJson({ b: 1, a: 'test', c: { d: 'e' } });
    expect(s).toBe('{"a":"test","b":1,"c":{"d":"e"}}');
    expect(createHash('sha384').update(s).digest('hex')).toBe(
      'e71ce8e70d814ba6639c3612ebee0ff1f76f650f8dbb5e47157e0f3f525cd22c4597480a186427c813ca941da78870c3',
    );
  });

  it('follows RFC 8785 for numbers, strings and key order', () => {
    // RFC 8785 §3.2.3 sorting example: keys sorted by UTF-16 code units
    const sorted = canonicalJson({
      '\u20ac': 'Euro Sign',
      '\r': 'Carriage Return',
      '\ufb33': 'Hebrew Letter Dalet With Dagesh',
      '1': 'One',
      '\ud83d\ude00': 'Emoji: Grinning Face',
      '\u0080': 'Control',
      '\u00f6': 'Latin Small Letter O With Diaeresis',
    });
    const order = ['\r', '1', '\u0080', '\u00f6', '\u20ac', '\ud83d\ude00', '\ufb33'].map((k) =>
      sorted.indexOf(JSON.stringify(k) + ':'),
    );
    expect(order.every((p, i) => p >= 0 && (i === 0 || p > order[i - 1]!))).toBe(true);
    // RFC 8785 §3.2.2.3 number examples
    // eslint-disable-next-line no-loss-of-precision -- the RFC 8785 example number, written as in the RFC
    expect(canonicalJson([1e21, 1e-7, -0, 333333333.33333329, 4.5, 2e-3, 0.000001])).toBe(
      '[1e+21,1e-7,0,333333333.3333333,4.5,0.002,0.000001]',
    );
    expect(canonicalJson({ s: '\u2028\n"\\\u001f' })).toBe('{"s":"\u2028\\n\\"\\\\\\u001f"}');
    expect(canonicalJson({ a: undefined, b: null, c: [true, false] })).toBe('{"b":null,"c":[true,false]}');
    expect(() => canonicalJson({ x: NaN })).toThrow(/non-finite/);
    expect(() => canonicalJson({ x: '\ud800' })).toThrow(/surrogate/);
  });
});

describe('runtime-data binding (§1.5)', () => {
  const key = { kty: 'EC', crv: 'P-256', alg: 'ECDH-ES+A256KW', x: 'AAAA', y: 'BBBB' };
  it('builds the primary runtime data exactly', () => {
    const s = primaryRuntimeData('bm9uY2U=', key, '');
    expect(s).toBe(
      '{"additional-evidence":"","nonce":"bm9uY2U=","tee-pubkey":{"alg":"ECDH-ES+A256KW","crv":"P-256","kty":"EC","x":"AAAA","y":"BBBB"}}',
    );
    const d = runtimeDataDigest(s);
    expect(d.length).toBe(48);
    expect(d.toString('hex').startsWith('d20490d30e5f16cb')).toBe(true);
    expect(d.toString('hex').endsWith('b12e4b43')).toBe(true);
    const rd = regularizeDigest(d, 64);
    expect(rd.subarray(0, 48).equals(d)).toBe(true);
    expect(rd.subarray(48).equals(Buffer.alloc(16))).toBe(true);
  });
  it('device runtime data has no additional-evidence and its first 32 bytes are the GPU nonce', () => {
    const s = deviceRuntimeData('bm9uY2U=', key);
    expect(s).toBe(
      '{"nonce":"bm9uY2U=","tee-pubkey":{"alg":"ECDH-ES+A256KW","crv":"P-256","kty":"EC","x":"AAAA","y":"BBBB"}}',
    );
    const d = runtimeDataDigest(s);
    expect(regularizeDigest(d, 32).equals(d.subarray(0, 32))).toBe(true);
  });
  it('selects the hash algorithm from the challenge, default sha384', () => {
    expect(selectedHashAlgorithm('')).toBe('sha384');
    expect(selectedHashAlgorithm({ 'selected-hash-algorithm': 'sha512' })).toBe('sha512');
    expect(selectedHashAlgorithm({ 'selected-hash-algorithm': 'md5' })).toBe('sha384');
  });
});
