/**
 * Acceptance: regorus's Kata fixtures. Every logged request of every scenario must evaluate to exactly
 * outputs.json, with state carried across requests and with a fresh engine per request, and the print lines must
 * equal prints.json once the module-name prefix is normalised.
 */
import { describe, expect, it } from 'vitest';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { AgentPolicy, Engine, parseRequestLog } from '../../../../policy/index.js';

const root = path.resolve(import.meta.dirname, '../../../../../shared/vectors/policy/regorus-kata');
const have = existsSync(root);
if (!have) console.warn(`skipping regorus-kata acceptance: ${root} is missing`);
const scenarios = have ? readdirSync(root).sort() : [];

function load(sc: string): {
  policy: string;
  requests: ReturnType<typeof parseRequestLog>;
  outputs: unknown[];
  prints: string[][];
} {
  const dir = path.join(root, sc);
  return {
    policy: readFileSync(path.join(dir, 'policy.rego'), 'utf8'),
    requests: parseRequestLog(readFileSync(path.join(dir, 'inputs.txt'), 'utf8'), `${sc}/inputs.txt`),
    outputs: JSON.parse(readFileSync(path.join(dir, 'outputs.json'), 'utf8')) as unknown[],
    prints: JSON.parse(readFileSync(path.join(dir, 'prints.json'), 'utf8')) as string[][],
  };
}

/** The fixtures were recorded with module name tests/kata/data/<scenario>/policy.rego. */
function normalise(lines: string[], sc: string): string[] {
  const prefix = `tests/kata/data/${sc}/policy.rego:`;
  return lines.map((l) => (l.startsWith(prefix) ? 'agent_policy:' + l.slice(prefix.length) : l));
}

describe.skipIf(!have)('regorus-kata scenarios', () => {
  it('has the expected fixtures', () => {
    expect(scenarios.length).toBeGreaterThanOrEqual(6);
  });

  for (const sc of scenarios) {
    it(`${sc}: decisions and prints match with a persistent engine`, () => {
      const { policy, requests, outputs, prints } = load(sc);
      expect(requests.length).toBe(outputs.length);
      const engine = new Engine();
      engine.addPolicy('agent_policy', policy);
      const got: unknown[] = [];
      const gotPrints: string[][] = [];
      for (const r of requests) {
        engine.setInput(r.input);
        got.push(engine.evalRule(`data.agent_policy.${r.name}`));
        gotPrints.push(engine.takePrints());
      }
      expect(got).toEqual(outputs);
      for (let i = 0; i < prints.length; i++)
        expect(gotPrints[i], `request ${i} (${requests[i]?.name})`).toEqual(normalise(prints[i] as string[], sc));
    });

    it(`${sc}: AgentPolicy (prints produced on demand) gives the same decisions and prints, state carried`, () => {
      const { policy, requests, outputs, prints } = load(sc);
      const p = AgentPolicy.fromRego(policy);
      const decisions = requests.map((r) => p.evaluateSync(r.name, r.input));
      expect(decisions.map((d) => d.error ?? d.value)).toEqual(outputs);
      // read the lines only now, after later requests changed the state: they must still be this request's
      for (let i = 0; i < prints.length; i++)
        expect(decisions[i]?.prints, `request ${i} (${requests[i]?.name})`).toEqual(
          normalise(prints[i] as string[], sc),
        );
    });

    it(`${sc}: decisions match with a fresh engine per request (AgentPolicy)`, () => {
      const { policy, requests, outputs } = load(sc);
      const base = AgentPolicy.fromRego(policy);
      const got = requests.map((r) => {
        const d = base.clone().evaluateSync(r.name, r.input);
        return d.error ?? d.value;
      });
      expect(got).toEqual(outputs);
    });
  }
});
