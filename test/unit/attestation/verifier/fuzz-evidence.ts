/**
 * Evidence fuzzing shared by the vitest sample and the 100k-input script (test/fuzz/attestation-evidence.ts):
 * random blobs, truncations, bit flips and length-field corruption of the real vectors, fed to every parser and
 * (for a fraction) to the full verifiers. Parsers may only throw MalformedEvidenceError / DerError; verifiers must
 * never throw. Anything else is a crash and is thrown back with the input that caused it.
 */
import { parseDer, DerError } from '../../../../attestation/verifier/der.js';
import {
  MalformedEvidenceError,
  parseSnpEvidenceJson,
  parseSnpReport,
  parseSpdmReport,
  parseTdxQuote,
  verifyEvidence,
  verifyNvidiaDevice,
  verifySnp,
  verifyTdx,
} from '../../../../attestation/verifier/index.js';
import { vector, vectorText } from './vectors.js';

/** mulberry32: small deterministic PRNG so a failing seed can be replayed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface FuzzStats {
  inputs: number;
  parsed: number;
  rejected: number;
  verified: number;
}

interface Seeds {
  snp: Buffer;
  tdx: Buffer;
  spdm: Buffer;
  snpJson: string;
  gpuChain: string;
}

function loadSeeds(): Seeds {
  return {
    snp: vector('snp/test-report.bin'),
    tdx: vector('tdx/tdx_quote_4.dat'),
    spdm: Buffer.from(vectorText('nvidia/hopperAttestationReport.txt').trim(), 'hex'),
    snpJson: vectorText('snp/genoa-evidence.json'),
    gpuChain: vectorText('nvidia/hopper_cert_chain_case1.txt'),
  };
}

function mutate(seed: Buffer, rnd: () => number): Buffer {
  const mode = Math.floor(rnd() * 5);
  if (mode === 0) {
    const b = Buffer.alloc(Math.floor(rnd() * (seed.length + 64)));
    for (let i = 0; i < b.length; i++) b[i] = Math.floor(rnd() * 256);
    return b;
  }
  if (mode === 1) return Buffer.from(seed.subarray(0, Math.floor(rnd() * seed.length)));
  const b = Buffer.from(seed);
  if (mode === 2) {
    const flips = 1 + Math.floor(rnd() * 8);
    for (let i = 0; i < flips; i++) b[Math.floor(rnd() * b.length)]! ^= 1 << Math.floor(rnd() * 8);
    return b;
  }
  if (mode === 3 && b.length >= 4) {
    // corrupt a length-like field with an extreme value
    const off = Math.floor(rnd() * (b.length - 4));
    const vals = [0, 1, 0xff, 0xffff, 0xffffffff, 0x7fffffff, Math.floor(rnd() * 0x10000)];
    b.writeUInt32LE(vals[Math.floor(rnd() * vals.length)]! >>> 0, off);
    return b;
  }
  return Buffer.concat([b, Buffer.alloc(Math.floor(rnd() * 100), Math.floor(rnd() * 256))]);
}

function mutateText(text: string, rnd: () => number): string {
  const chars = [...text];
  const n = 1 + Math.floor(rnd() * 4);
  for (let i = 0; i < n; i++) {
    const pos = Math.floor(rnd() * chars.length);
    const pick = ['0', '9', '-', '"', '{', ']', 'null', '300', '1e99', ''][Math.floor(rnd() * 10)]!;
    chars[pos] = pick;
  }
  return rnd() < 0.2 ? chars.join('').slice(0, Math.floor(rnd() * chars.length)) : chars.join('');
}

function expectedError(e: unknown): boolean {
  return e instanceof MalformedEvidenceError || e instanceof DerError;
}

function parseOne(what: string, fn: () => unknown, input: Buffer | string, stats: FuzzStats): void {
  try {
    fn();
    stats.parsed++;
  } catch (e) {
    if (!expectedError(e)) {
      const sample = typeof input === 'string' ? input.slice(0, 200) : input.subarray(0, 64).toString('hex');
      throw new Error(
        `${what} crashed with ${(e as Error).name}: ${(e as Error).message} (input ${input.length} bytes, starts ${sample})`,
        { cause: e },
      );
    }
    stats.rejected++;
  }
}

async function verifyOne(what: string, p: Promise<{ ok: boolean }>): Promise<void> {
  try {
    await p;
  } catch (e) {
    throw new Error(`${what} threw instead of returning a failed result: ${(e as Error).message}`, { cause: e });
  }
}

/** Run `n` fuzz inputs from `seed`; every `verifyEvery`-th input also goes through the full verifiers. */
export async function fuzzEvidence(n: number, seed = 1, verifyEvery = 50): Promise<FuzzStats> {
  const s = loadSeeds();
  const rnd = prng(seed);
  const stats: FuzzStats = { inputs: 0, parsed: 0, rejected: 0, verified: 0 };
  const now = new Date('2023-07-01T00:00:00Z');
  for (let i = 0; i < n; i++) {
    stats.inputs++;
    const kind = i % 5;
    if (kind === 0) {
      const b = mutate(s.snp, rnd);
      parseOne('parseSnpReport', () => parseSnpReport(b), b, stats);
      if (i % verifyEvery === 0) {
        await verifyOne(
          'verifySnp',
          verifySnp({ report: b }, { now, minReportVersion: 2, vek: vector('snp/test-vcek.der') }),
        );
        stats.verified++;
      }
    } else if (kind === 1) {
      const b = mutate(s.tdx, rnd);
      parseOne('parseTdxQuote', () => parseTdxQuote(b), b, stats);
      if (i % verifyEvery === 1) {
        await verifyOne('verifyTdx', verifyTdx(b, { now, allowMissingCollateral: true }));
        stats.verified++;
      }
    } else if (kind === 2) {
      const b = mutate(s.spdm, rnd);
      parseOne('parseSpdmReport', () => parseSpdmReport(b), b, stats);
      if (i % verifyEvery === 2) {
        await verifyOne(
          'verifyNvidiaDevice',
          verifyNvidiaDevice({ evidence: b.toString('hex'), certificate: s.gpuChain }, { now }),
        );
        stats.verified++;
      }
    } else if (kind === 3) {
      const t = mutateText(s.snpJson, rnd);
      parseOne('parseSnpEvidenceJson', () => parseSnpEvidenceJson(t), t, stats);
      if (i % verifyEvery === 3) {
        await verifyOne('verifyEvidence(snp)', verifyEvidence('snp', t, { now }));
        stats.verified++;
      }
    } else {
      const b = mutate(i % 2 ? vector('snp/test-vcek.der') : s.tdx.subarray(0, 200), rnd);
      parseOne('parseDer', () => parseDer(b), b, stats);
    }
  }
  return stats;
}
