/**
 * Benchmark: the KBS's evidence verification and full RCAR round trips on loopback.
 *
 * - SNP report (real Genoa evidence, embedded VCEK, pinned AMD chain) and TDX quote (tdx_quote_4 with Intel
 *   collateral) verification through the verifier the KBS uses, against a baseline measured in the same run: one
 *   bare node:crypto ECDSA check of the same signature.
 * - Full RCAR (auth → attest (sample TEE, Rego appraisal, ES256 EAR token) → resource GET → JWE decrypt) per second
 *   with a fresh client each time, and cached-token resource GETs, against a bare HTTP round trip to a trivial
 *   node:http server on the same loopback (same undici client).
 *   npx tsx test/bench/kbs.bench.ts [ITERATIONS]
 */
import { createPublicKey, verify, X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { request } from 'undici';
import { SampleAttester } from '../../attestation/agent/index.js';
import {
  defaultRegoEngineFactory,
  KbsClient,
  KbsServer,
  libraryVerifier,
  RegoKbsPolicy,
  SAMPLE_ALLOWING_RESOURCE_POLICY,
} from '../../attestation/kbs/index.js';
import {
  loadTdxCollateralDir,
  parseSnpEvidenceJson,
  parseSnpReport,
  parseTdxQuote,
  verifyTdx,
} from '../../attestation/verifier/index.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const vectors = path.resolve(repoRoot, '../shared/vectors');
const read = (rel: string): Buffer => readFileSync(path.join(vectors, rel));
const iterations = Number(process.argv[2] ?? 200);

async function time(label: string, n: number, fn: () => unknown | Promise<unknown>): Promise<number> {
  for (let i = 0; i < Math.min(20, n); i++) await fn();
  const start = process.hrtime.bigint();
  for (let i = 0; i < n; i++) await fn();
  const perOp = Number(process.hrtime.bigint() - start) / 1e6 / n;
  console.log(`${label.padEnd(58)} ${perOp.toFixed(3)} ms/op  (${(1000 / perOp).toFixed(0)}/s)`);
  return perOp;
}

async function verification(): Promise<void> {
  const json = JSON.parse(read('snp/genoa-evidence.json').toString()) as Record<string, unknown>;
  const ev = parseSnpEvidenceJson(json);
  const report = parseSnpReport(ev.report);
  const vcekKey = createPublicKey(
    new X509Certificate(ev.certs[0]!.der).publicKey.export({ format: 'pem', type: 'spki' }),
  );
  const sig = Buffer.concat([report.signatureR, report.signatureS]);
  const signed = ev.report.subarray(0, 0x2a0);
  const snpBase = await time('baseline: one ECDSA P-384 verify (SNP signature)', iterations, () => {
    if (!verify('sha384', signed, { key: vcekKey, dsaEncoding: 'ieee-p1363' }, sig)) throw new Error('baseline failed');
  });
  const snpVerifier = libraryVerifier('snp', { amdCertChain: read('snp/genoa_ask_ark_asvk.pem') });
  const rd = Buffer.from((json.attestation_report as { report_data: number[] }).report_data);
  const snp = await time('KBS snp verifier (JSON evidence, chain, signature, binding)', iterations, () =>
    snpVerifier({ tee: 'snp', evidence: json, expectedReportData: rd, now: Date.parse('2026-01-01T00:00:00Z') }),
  );

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
  const tdxBase = await time('baseline: one ECDSA P-256 verify (TDX quote signature)', iterations, () => {
    if (!verify('sha256', q.signedBytes, { key: attKey, dsaEncoding: 'ieee-p1363' }, q.signature))
      throw new Error('baseline failed');
  });
  const collateral = loadTdxCollateralDir(path.join(vectors, 'tdx'));
  const tdx = await time('TDX quote verification (QE, PCK chain, collateral)', iterations, async () => {
    // tdx_quote_4 is a debug TD: allowed here only so the full path runs; the KBS refuses debug TDs
    const r = await verifyTdx(quote, { collateral, now: new Date('2023-07-01T00:00:00Z'), allowDebug: true });
    if (!r.ok) throw new Error('TDX verification failed');
  });
  console.log(
    `  SNP: ${(snp / snpBase).toFixed(1)}x one bare P-384 check; TDX: ${(tdx / tdxBase).toFixed(1)}x one bare P-256 check\n`,
  );
}

async function roundTrips(): Promise<void> {
  const bare = http.createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{}'));
  await new Promise<void>((r) => bare.listen(0, '127.0.0.1', () => r()));
  const bareUrl = `http://127.0.0.1:${(bare.address() as AddressInfo).port}/`;
  const dir = mkdtempSync(path.join(tmpdir(), 'kbs-bench-'));
  const kbs = new KbsServer({
    resourceDir: dir,
    policy: new RegoKbsPolicy(defaultRegoEngineFactory, { resourcePolicy: SAMPLE_ALLOWING_RESOURCE_POLICY }),
    admin: { mode: 'deny-all' },
  });
  const url = await kbs.listen(0);
  await kbs.store.set(['default', 'key', 'bench'], Buffer.from('bench-secret'));
  try {
    const n = Math.max(20, Math.floor(iterations / 2));
    const base = await time('baseline: bare HTTP POST round trip (undici → node:http)', n * 5, async () => {
      const r = await request(bareUrl, { method: 'POST', body: '{}' });
      await r.body.text();
    });
    const full = await time('full RCAR: auth + attest + resource GET + JWE decrypt', n, async () => {
      const c = new KbsClient({ url, attester: new SampleAttester(), retry: { attempts: 1 } });
      if ((await c.getResource('default/key/bench')).toString() !== 'bench-secret') throw new Error('wrong resource');
    });
    const c = new KbsClient({ url, attester: new SampleAttester(), retry: { attempts: 1 } });
    await c.getResource('default/key/bench');
    const cached = await time('resource GET with a cached token (+ JWE decrypt)', n * 2, async () => {
      await c.getResource('default/key/bench');
    });
    console.log(
      `  full RCAR: ${(full / base).toFixed(1)}x a bare round trip (it makes 3 HTTP requests: ${(full / (3 * base)).toFixed(1)}x three)`,
    );
    console.log(`  cached-token resource GET: ${(cached / base).toFixed(1)}x a bare round trip`);
  } finally {
    await kbs.close();
    bare.closeAllConnections();
    await new Promise((r) => bare.close(r));
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  console.log(`KBS benchmark, ${iterations} iterations (node ${process.version})\n`);
  await verification();
  await roundTrips();
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    console.error(e);
    process.exit(1);
  },
);
