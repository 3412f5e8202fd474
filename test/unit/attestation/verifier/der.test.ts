import { describe, expect, it } from 'vitest';
import { X509Certificate } from 'node:crypto';
import { children, decodeOid, decodeUint, DerError, parseDer, readTlv } from '../../../../attestation/verifier/der.js';
import { certExtensions } from '../../../../attestation/verifier/x509-extensions.js';
import { readPckExtensions } from '../../../../attestation/verifier/index.js';
import { parseTdxQuote } from '../../../../attestation/evidence/index.js';
import { vector } from './vectors.js';

describe('DER reader', () => {
  it('decodes OIDs, integers and nested sequences', () => {
    expect(decodeOid(parseDer(Buffer.from('06092a864886f70d01010b', 'hex')))).toBe('1.2.840.113549.1.1.11');
    expect(decodeOid(parseDer(Buffer.from('06052b81040022', 'hex')))).toBe('1.3.132.0.34');
    expect(decodeUint(parseDer(Buffer.from('020200a9', 'hex')))).toBe(169);
    const seq = parseDer(Buffer.from('3006020101020102', 'hex'));
    expect(children(seq).map(decodeUint)).toEqual([1, 2]);
    const long = Buffer.concat([Buffer.from('0481c8', 'hex'), Buffer.alloc(200)]);
    expect(readTlv(long).end).toBe(203);
  });

  it('rejects truncated, indefinite, oversized and trailing input with DerError', () => {
    for (const hex of ['30', '3005020101', '3080', '0485ffffffffff', '1f01', '020100ff', '0200', '0201ff']) {
      expect(() => {
        const t = parseDer(Buffer.from(hex, 'hex'));
        if (t.tag === 0x02) decodeUint(t);
      }, hex).toThrow(DerError);
    }
  });

  it('reads the AMD VCEK extensions of test-vcek.der', () => {
    const ext = certExtensions(new X509Certificate(vector('snp/test-vcek.der')));
    expect(ext.get('1.3.6.1.4.1.3704.1.3.8')?.value.toString('hex')).toBe('020173');
    expect(ext.get('1.3.6.1.4.1.3704.1.4')?.value).toHaveLength(64);
  });

  it('reads the SGX extensions of the tdx_quote_4 PCK certificate', () => {
    const pem = parseTdxQuote(vector('tdx/tdx_quote_4.dat')).pckChainPem.match(
      /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/,
    )![0];
    const pck = readPckExtensions(new X509Certificate(pem));
    expect(pck.fmspc.toString('hex')).toBe('50806f000000');
    expect(pck.sgxTcbComponents).toHaveLength(16);
    expect(pck.pceId.toString('hex')).toBe('0000');
    expect(pck.platformInstanceId).toHaveLength(16);
  });
});
