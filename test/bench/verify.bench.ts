/**
 * Benchmark: SNP report and TDX quote verification time. Prints each verifier's time per evidence and its ratio to
 * a baseline measured in the same run: one bare node:crypto ECDSA verification of the same signature (SNP: P-384
 * over the 0x2A0 signed bytes; TDX: the P-256 quote signature). The ratio shows the cost of everything beyond the
 * single signature (certificate chains, extension parsing, collateral checks).
 *   npx tsx test/bench/verify.bench.ts [ITERATIONS]
 */
import { createPublicKey, verify, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  parseSnpEvidenceJson,
  parseSnpReport,
  parseTdxQuote,
  verifySnp,
  verifyTdx,
  loadTdxCollateralDir,
} from '../../attestation/verifier/index.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const vectors = path.resolve(repoRoot, '../shared/vectors');
const read = (rel: string): Buffer => readFileSync(path.join(vectors, rel));
const iterations = Number(process.argv[2] ?? 200);

async function time(label: string, fn: () => unknown | Promise<unknown>): Promise<number> {
  for (let i = 0; i < Math.min(20, iterations); i++) await fn();
  const start = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) await fn();
  const perOp = Number(process.hrtime.bigint() - start) / 1e6 / iterations;
  console.log(`${label.padEnd(46)} ${perOp.toFixed(3)} ms/op`);
  return perOp;
}

async function main(): Promise<void> {
  // SNP: Genoa Trustee JSON evidence with its embedded VCEK.
  const ev = parseSnpEvidenceJson(read('snp/genoa-evidence.json'));
  const chain = read('snp/genoa_ask_ark_asvk.pem');
  const report = parseSnpReport(ev.report);
  const vcekKey = createPublicKey(
    new X509Certificate(ev.certs[0]!.der).publicKey.export({ format: 'pem', type: 'spki' }),
  );
  const sig = Buffer.concat([report.signatureR, report.signatureS]);
  const signed = ev.report.subarray(0, 0x2a0);
  const snpBase = await time('baseline: one ECDSA P-384 verify (SNP)', () => {
    if (!verify('sha384', signed, { key: vcekKey, dsaEncoding: 'ieee-p1363' }, sig)) throw new Error('baseline failed');
  });
  const snpFull = await time('verifySnp (parse, chain, signature, policy)', async () => {
    const r = await verifySnp(ev, { amdCertChain: chain });
    if (!r.ok) throw new Error('SNP verification failed');
  });

  // TDX: v4 quote with collateral, fixed clock.
  const quote = read('tdx/tdx_quote_4.dat');
  const q = parseTdxQuote(quote);
  const attKey = createPublicKey({
    key: {
      kty: 'EC',
      crv: 'P-256',
      x: q.attestationKey.subarray(0, 32).toString('base64url'),
      y: q.attestationKey.subarray(32).toString('base64url'),
    },
    format: 'jwk',
  });
  const collateral = loadTdxCollateralDir(path.join(vectors, 'tdx'));
  const tdxBase = await time('baseline: one ECDSA P-256 verify (TDX)', () => {
    if (!verify('sha256', q.signedBytes, { key: attKey, dsaEncoding: 'ieee-p1363' }, q.signature))
      throw new Error('baseline failed');
  });
  const tdxFull = await time('verifyTdx (quote, QE, PCK chain, collateral)', async () => {
    const r = await verifyTdx(quote, { collateral, now: new Date('2023-07-01T00:00:00Z'), allowDebug: true });
    if (!r.ok) throw new Error('TDX verification failed');
  });

  console.log(`\nSNP report verification: ${(snpFull / snpBase).toFixed(1)}x one bare P-384 signature check`);
  console.log(`TDX quote verification:  ${(tdxFull / tdxBase).toFixed(1)}x one bare P-256 signature check`);
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
