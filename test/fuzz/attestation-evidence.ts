/**
 * Test-only fuzz script: 100k random / truncated / corrupted evidence blobs through the SNP, TDX and NVIDIA parsers
 * (and a fraction through the full verifiers). Errors are expected; crashes are not.
 *   npx tsx test/fuzz/attestation-evidence.ts [COUNT] [SEED]
 * Exits 1 on the first crash, printing the input that caused it.
 */
import { fuzzEvidence } from '../unit/attestation/verifier/fuzz-evidence.js';

const count = Number(process.argv[2] ?? 100_000);
const seed = Number(process.argv[3] ?? Date.now() % 2 ** 31);
const started = Date.now();
console.log(`fuzzing ${count} evidence inputs, seed ${seed}`);
fuzzEvidence(count, seed, 100).then(
  (s) => {
    console.log(
      `ok: ${s.inputs} inputs, ${s.parsed} parsed, ${s.rejected} rejected with a clear error, ${s.verified} full verifications, ${((Date.now() - started) / 1000).toFixed(1)}s, no crashes`,
    );
  },
  (e: unknown) => {
    console.error(`CRASH (seed ${seed}): ${(e as Error).message}`);
    process.exit(1);
  },
);
