import { describe, expect, it } from 'vitest';
import { fuzzJweAndSealed } from './fuzz-jwe-sealed.js';

describe('JWE and sealed-secret fuzzing (sample; the 100k run is test/fuzz/jwe-sealed.ts)', () => {
  it('1,500 mutated JWEs and sealed secrets: clean rejections or the unchanged plaintext, never a crash or forgery', async () => {
    const s = await fuzzJweAndSealed(1500, 20261122);
    expect(s.inputs).toBe(1500);
    expect(s.jweRejected + s.jweAccepted + s.sealedRejected + s.sealedAccepted).toBe(1500);
    expect(s.jweRejected).toBeGreaterThan(500);
    expect(s.sealedRejected).toBeGreaterThan(500);
    expect(s.sealedAccepted).toBeGreaterThan(10); // re-signed valid payloads do get through
  }, 60_000);
});
