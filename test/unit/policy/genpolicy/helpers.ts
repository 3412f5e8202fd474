/** Shared test helpers: repo paths, Kata's logged agent requests, settings dirs with drop-ins, policy evaluation. */
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { afterAll } from 'vitest';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { applyJsonPatch, type PatchOperation } from '../../../../policy/genpolicy/index.js';

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

export const haveEngine = existsSync(path.join(repoRoot, 'policy/rego/index.ts'));

export interface PolicyEngine {
  addPolicy(path: string, src: string): unknown;
  addData(obj: Record<string, unknown>): void;
  setData?(obj: Record<string, unknown>): void;
  getData?(): Record<string, unknown>;
  setInput(x: unknown): void;
  evalRule(ref: string): unknown;
  takePrints(): string[];
}

/** Agent-like evaluation: object results apply their JSON-Patch ops to data.pstate when allowed. */
export class AgentLike {
  private pstate: Record<string, unknown> = {};
  constructor(private readonly engine: PolicyEngine) {
    engine.addData({ pstate: {} });
  }
  get state(): Record<string, unknown> {
    return this.pstate;
  }
  decide(ep: string, input: unknown): boolean {
    this.engine.setInput(input);
    const r = this.engine.evalRule(`data.agent_policy.${ep}`);
    this.engine.takePrints();
    if (typeof r === 'boolean') return r;
    if (r && typeof r === 'object' && 'allowed' in r) {
      const { allowed, ops } = r as { allowed: boolean; ops?: PatchOperation[] };
      if (allowed && ops?.length) {
        const next = applyJsonPatch({ pstate: this.pstate }, ops, `${ep} state ops`);
        this.pstate = next.pstate;
        if (this.engine.setData) this.engine.setData({ pstate: this.pstate });
        else this.engine.addData({ pstate: this.pstate });
      }
      return allowed === true;
    }
    throw new Error(`${ep}: unexpected policy result ${JSON.stringify(r)}`);
  }
}
