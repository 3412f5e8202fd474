/**
 * Certificate helpers for the verifiers: load PEM bundles / DER, check validity against an injected clock, check
 * one certificate signed another, and compare pinned fingerprints.
 */
import { X509Certificate } from 'node:crypto';

export type CertInput = string | Uint8Array | X509Certificate | X509Certificate[];

const PEM_RE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/** Parse PEM text (one or more certificates, in order) or one DER certificate. Throws naming `what` on failure. */
export function loadCertificates(input: CertInput, what: string): X509Certificate[] {
  if (Array.isArray(input)) return input;
  if (input instanceof X509Certificate) return [input];
  const buf = typeof input === 'string' ? Buffer.from(input, 'utf8') : Buffer.from(input);
  const text = buf.toString('latin1');
  if (text.includes('-----BEGIN CERTIFICATE-----')) {
    const pems = text.match(PEM_RE) ?? [];
    if (pems.length === 0) throw new Error(`${what}: PEM has no complete CERTIFICATE block`);
    return pems.map((p, i) => {
      try {
        return new X509Certificate(p);
      } catch (e) {
        throw new Error(`${what}: certificate ${i} is not a valid X.509 certificate: ${(e as Error).message}`);
      }
    });
  }
  try {
    return [new X509Certificate(buf)];
  } catch (e) {
    throw new Error(`${what}: not a PEM bundle or a DER certificate: ${(e as Error).message}`);
  }
}

/** The CN of a subject or issuer string as node prints it ("…\nCN=x\n…"). */
export function commonName(dn: string): string | undefined {
  for (const line of dn.split('\n')) if (line.startsWith('CN=')) return line.slice(3);
  return undefined;
}

/** Undefined when `now` is inside the certificate's validity window, else the reason. */
export function validityProblem(cert: X509Certificate, now: Date, what: string): string | undefined {
  const from = new Date(cert.validFrom);
  const to = new Date(cert.validTo);
  if (Number.isNaN(from.getTime()) || Number.isNaN(to.getTime())) return `${what}: unreadable validity dates`;
  if (now < from) return `${what} is not valid before ${from.toISOString()} (now ${now.toISOString()})`;
  if (now > to) return `${what} expired ${to.toISOString()} (now ${now.toISOString()})`;
  return undefined;
}

/** Undefined when `child` names `parent` as issuer and carries a valid signature by its key, else the reason. */
export function issuedByProblem(
  child: X509Certificate,
  parent: X509Certificate,
  childName: string,
  parentName: string,
): string | undefined {
  if (child.issuer !== parent.subject) {
    return `${childName} issuer "${oneLine(child.issuer)}" is not ${parentName} "${oneLine(parent.subject)}"`;
  }
  let ok = false;
  try {
    ok = child.verify(parent.publicKey);
  } catch (e) {
    return `${childName} signature could not be checked with ${parentName}'s key: ${(e as Error).message}`;
  }
  return ok ? undefined : `${childName} signature does not verify with ${parentName}'s key`;
}

export function oneLine(dn: string): string {
  return dn.split('\n').join(', ');
}

/** Normalize a fingerprint ("AA:BB…" or "aabb…") to lower-case hex without separators. */
export function normalizeFingerprint(fp: string): string {
  return fp.replace(/:/g, '').toLowerCase();
}
