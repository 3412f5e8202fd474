import { describe, expect, it } from 'vitest';
import { fuzzEvidence } from './fuzz-evidence.js';

describe('evidence fuzzing (sample; the 100k run is test/fuzz/attestation-evidence.ts)', () => {
  it('2,000 random, truncated and corrupted blobs give errors, never crashes', async () => {
    const s = await fuzzEvidence(2000, 20261122, 40);
    expect(s.inputs).toBe(2000);
    expect(s.parsed + s.rejected).toBe(2000); // every input was either parsed or cleanly rejected
    expect(s.rejected).toBeGreaterThan(500);
    expect(s.verified).toBeGreaterThan(30);
  });
});
