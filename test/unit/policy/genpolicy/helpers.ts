/** Shared test helpers: repo paths, Kata's logged agent requests, settings dirs with drop-ins, policy evaluation. */
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { afterAll } from 'vitest';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { AgentPolicy } from '../../../../policy/agent/index.js';
import { type PatchOperation } from '../../../../policy/genpolicy/index.js';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../..');
export const vectors = path.resolve(repoRoot, '../shared/vectors');
export const settingsDir = path.join(repoRoot, 'configs/genpolicy');
export const dropInExamples = path.join(settingsDir, 'drop-in-examples');

export interface LoggedRequest {
  readonly ep: string;
  readonly input: Record<string, unknown>;
}

/** Parses a regorus-kata `inputs.txt` (`["ep":"<Name>",<json>],` per line). */
export function readKataInputs(scenario: string): LoggedRequest[] {
  const text = readFileSync(path.join(vectors, 'policy/regorus-kata', scenario, 'inputs.txt'), 'utf8');
  return text
    .split('\n')
    .filter((l) => l.trim().startsWith('['))
    .map((l) => {
      const arr = JSON.parse(l.trim().replace(/,$/, '').replace('"ep":', '"ep",')) as [
        string,
        string,
        Record<string, unknown>,
      ];
      return { ep: arr[1], input: arr[2] };
    });
}

const tempDirs: string[] = [];
// remove the temp settings directories of the test file that imported these helpers
afterAll(() => {
  for (const d of tempDirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** A temp settings directory: the shipped settings plus the named drop-in examples (and extra patches). */
export function settingsWithDropIns(dropIns: readonly string[], extra: Record<string, PatchOperation[]> = {}): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'ccgpu-settings-'));
  tempDirs.push(dir);
  cpSync(path.join(settingsDir, 'genpolicy-settings.json'), path.join(dir, 'genpolicy-settings.json'));
  const d = path.join(dir, 'genpolicy-settings.d');
  mkdirSync(d);
  for (const n of dropIns) cpSync(path.join(dropInExamples, n), path.join(d, n));
  for (const [n, ops] of Object.entries(extra)) cpSync(writeTemp(JSON.stringify(ops)), path.join(d, n));
  return dir;
}

function writeTemp(text: string): string {
  const d = mkdtempSync(path.join(tmpdir(), 'ccgpu-dropin-'));
  tempDirs.push(d);
  const f = path.join(d, 'x.json');
  writeFileSync(f, text);
  return f;
}

/**
 * The agent's own enforcement (`policy/agent` AgentPolicy: Kata semantics, state ops applied on allow, fail-closed
 * regexes) loaded with a generated policy text, with a boolean `decide` for table-style tests.
 */
export class AgentLike {
  readonly policy: AgentPolicy;
  constructor(policyText: string) {
    this.policy = AgentPolicy.fromRego(policyText);
  }
  get state(): Record<string, unknown> {
    return this.policy.data().pstate as Record<string, unknown>;
  }
  decide(ep: string, input: unknown): boolean {
    const d = this.policy.evaluateSync(ep, input);
    if (d.error) throw new Error(`${ep}: policy evaluation failed: ${d.error}`);
    return d.allowed;
  }
}
