/**
 * regorus interpreter conformance cases (OPA YAML test format) from ../shared/vectors.
 *
 * Every case is run. Skips are by rule (see SKIP_RULES, each with a reason). Known failures are listed below with
 * the reason; the test fails if a listed case starts passing (so the list stays true) or an unlisted case fails.
 */
import { describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { CASES_DIR, runAll, type CaseOutcome } from './conformance-runner.js';
import { KNOWN_FAILURES } from './conformance-known-failures.js';

const have = existsSync(CASES_DIR);
if (!have) console.warn(`skipping Rego conformance: ${CASES_DIR} is missing`);

describe('regorus interpreter conformance cases', () => {
  it.skipIf(!have)(
    'runs all cases; only documented skips and known failures',
    () => {
      const outcomes = runAll();
      const counts = { pass: 0, fail: 0, skip: 0 };
      for (const o of outcomes) counts[o.status]++;
      const skipReasons = new Map<string, number>();
      for (const o of outcomes)
        if (o.status === 'skip') skipReasons.set(o.reason ?? '', (skipReasons.get(o.reason ?? '') ?? 0) + 1);
      console.log(
        `Rego conformance: ${outcomes.length} cases, ${counts.pass} pass, ${counts.fail} known failures, ${counts.skip} skipped\n` +
          [...skipReasons].map(([r, n]) => `  skip ${n}: ${r}`).join('\n'),
      );
      const key = (o: CaseOutcome): string => `${o.file} | ${o.note}`;
      const unexpected = outcomes
        .filter((o) => o.status === 'fail' && !KNOWN_FAILURES.has(key(o)))
        .map((o) => `${key(o)}: ${o.reason}`);
      const fixed = outcomes.filter((o) => o.status === 'pass' && KNOWN_FAILURES.has(key(o))).map(key);
      expect(unexpected).toEqual([]);
      expect(fixed).toEqual([]);
      expect(counts.pass).toBeGreaterThanOrEqual(527);
      for (const o of outcomes) if (o.status === 'skip') expect(o.reason).toBeTruthy();
    },
    120_000,
  );

  it.skipIf(!have)(
    "decision mode (the agent's: prints off, OPA-style early exit) gives every case the same outcome",
    () => {
      const exhaustive = runAll();
      const decision = runAll(undefined, { decision: true });
      expect(decision.length).toBe(exhaustive.length);
      const key = (o: CaseOutcome): string => `${o.file} | ${o.note}`;
      const differ = decision
        .map((o, i) => [o, exhaustive[i] as CaseOutcome] as const)
        .filter(([d, e]) => key(d) !== key(e) || d.status !== e.status)
        .map(([d, e]) => `${key(d)}: ${e.status} -> ${d.status} (${d.reason ?? ''})`);
      expect(differ).toEqual([]);
      expect(decision.filter((o) => o.status === 'pass').length).toBeGreaterThanOrEqual(527);
    },
    120_000,
  );
});
