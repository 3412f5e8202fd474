/**
 * AMD root of trust per SNP generation: the pinned ARK fingerprints, and picking ARK / ASK / ASVK out of a bundle
 * (the KDS `cert_chain` PEM, trustee's `<gen>_ask_ark_asvk.pem`, or certificates embedded in the evidence).
 */
import type { X509Certificate } from 'node:crypto';
import type { SnpGeneration } from '../../evidence/snp-report.js';
import { commonName } from '../certificates.js';

/** SHA-256 fingerprints of AMD's root keys (ARK), one per generation. Only these roots are trusted. */
export const PINNED_ARK_SHA256: Readonly<Record<SnpGeneration, string>> = {
  Milan: '69d063b45344d26a2e94e1f4210de49ef555308287d4c174445c95639a540bcd',
  Genoa: '4c6598d19c18719c5dfd4a7d335f674e5bfe1d8f800cea2cf270c10d103db2f1',
  Turin: '1f084161a44bb6d93778a904877d4819cafa5d05ef4193b2ded9dd9c73dd3f6a',
};

export interface AmdRoots {
  ark?: X509Certificate;
  ask?: X509Certificate;
  asvk?: X509Certificate;
}

/** Sort a set of AMD CA certificates into ARK / ASK / ASVK for one generation, by subject CN. */
export function pickAmdRoots(certs: readonly X509Certificate[], generation: SnpGeneration): AmdRoots {
  const out: AmdRoots = {};
  for (const c of certs) {
    const cn = commonName(c.subject);
    if (cn === `ARK-${generation}`) out.ark ??= c;
    else if (cn === `SEV-${generation}`) out.ask ??= c;
    else if (cn === `SEV-VLEK-${generation}`) out.asvk ??= c;
  }
  return out;
}

/** The generation a CA or VEK certificate belongs to, from its CN / issuer CN, if recognisable. */
export function generationOfCert(cert: X509Certificate): SnpGeneration | undefined {
  for (const dn of [cert.subject, cert.issuer]) {
    const cn = commonName(dn) ?? '';
    const m = /^(?:ARK|SEV|SEV-VLEK|ASVK)-(Milan|Genoa|Turin)$/.exec(cn);
    if (m) return m[1] as SnpGeneration;
  }
  return undefined;
}
