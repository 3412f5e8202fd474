/**
 * Test-only fuzz script: 100k mutated resource JWEs and sealed secrets (see test/unit/attestation/kbs/fuzz-jwe-sealed.ts).
 *   npx tsx test/fuzz/jwe-sealed.ts [COUNT] [SEED]
 * Exits 1 on the first crash (an error other than JweError / SealedSecretError, or a forged plaintext).
 */
import { fuzzJweAndSealed } from '../unit/attestation/kbs/fuzz-jwe-sealed.js';

const count = Number(process.argv[2] ?? 100_000);
const seed = Number(process.argv[3] ?? Date.now() % 2 ** 31);
const started = Date.now();
console.log(`fuzzing ${count} JWE / sealed-secret inputs, seed ${seed}`);
fuzzJweAndSealed(count, seed).then(
  (s) => {
    console.log(
      `ok: ${s.inputs} inputs; JWE ${s.jweRejected} rejected, ${s.jweAccepted} accepted (plaintext unchanged); sealed ${s.sealedRejected} rejected, ${s.sealedAccepted} accepted; ${((Date.now() - started) / 1000).toFixed(1)}s, no crashes`,
    );
  },
  (e: unknown) => {
    console.error(`CRASH (seed ${seed}): ${(e as Error).message}`);
    process.exit(1);
  },
);
