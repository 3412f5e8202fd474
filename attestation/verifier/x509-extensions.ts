/**
 * Read the extensions of an X.509 certificate (RFC 5280 tbsCertificate [3] EXPLICIT Extensions) by OID, using the
 * DER reader. node:crypto's X509Certificate does not expose vendor extensions, so the verifiers read them here.
 */
import type { X509Certificate } from 'node:crypto';
import { children, content, decodeOid, DerError, expectTag, parseDer, TAG, type Tlv } from './der.js';

export interface CertExtension {
  oid: string;
  critical: boolean;
  /** The extnValue OCTET STRING's content (the extension's own DER). */
  value: Buffer;
}

/** All extensions of a certificate, keyed by OID. A certificate without extensions yields an empty map. */
export function certExtensions(cert: X509Certificate | Buffer): Map<string, CertExtension> {
  const der = Buffer.isBuffer(cert) ? cert : cert.raw;
  const top = children(expectTag(parseDer(der), TAG.SEQUENCE, 'Certificate'));
  const tbs = children(expectTag(top[0] ?? fail('missing tbsCertificate'), TAG.SEQUENCE, 'tbsCertificate'));
  const out = new Map<string, CertExtension>();
  const extWrapper = tbs.find((t) => t.tag === 0xa3);
  if (!extWrapper) return out;
  const [seq] = children(extWrapper);
  for (const ext of children(expectTag(seq ?? fail('empty extensions'), TAG.SEQUENCE, 'Extensions'))) {
    const parts = children(expectTag(ext, TAG.SEQUENCE, 'Extension'));
    const oid = decodeOid(parts[0] ?? fail('extension without OID'));
    let i = 1;
    let critical = false;
    if (parts[i]?.tag === TAG.BOOLEAN) {
      critical = content(parts[i]!)[0] === 0xff;
      i++;
    }
    const value = expectTag(
      parts[i] ?? fail(`extension ${oid} without value`),
      TAG.OCTET_STRING,
      `extension ${oid} value`,
    );
    out.set(oid, { oid, critical, value: Buffer.from(content(value)) });
  }
  return out;
}

function fail(msg: string): never {
  throw new DerError(msg);
}

export type { Tlv };
