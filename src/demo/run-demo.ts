/**
 * `runDemo`: the guided tour of the main job on this machine. Runs each step in turn (a failing or crashing step does
 * not stop the others), prints what each does and its result, then a summary table. `ok` is true when every step
 * that could run here passed (skips do not count against it).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { errorMessage } from '../errors/index.js';
import { runLiveDemo } from './live.js';
import { findPackageRoot } from './package-root.js';
import { attestationStep } from './step-attestation.js';
import { gpuHostStep } from './step-gpu-host.js';
import { hostCheckStep } from './step-host-check.js';
import { policyStep } from './step-policy.js';
import type { DemoOutput, DemoStep, StepOutcome, StepStatus } from './types.js';

export const liveStep: DemoStep = {
  id: 'live',
  title: 'Live: containerd + ctr run … echo hello in a QEMU guest through the ccgpu shim',
  async run(ctx) {
    return liveOutcome(await runLiveDemo(ctx));
  },
};

/** What `runLiveDemo` returned, as a step outcome: a StepOutcome as is, true/false as pass/fail, nothing as a skip. */
export function liveOutcome(r: unknown): StepOutcome {
  if (r === undefined || r === null) return { status: 'skip', summary: 'not yet available' };
  if (r === true) return { status: 'pass', summary: 'the live containerd demo passed' };
  if (r === false) return { status: 'fail', summary: 'the live containerd demo failed (see its output above)' };
  const o = r as Partial<StepOutcome>;
  if (o.status === 'pass' || o.status === 'fail' || o.status === 'skip') {
    return { status: o.status, summary: typeof o.summary === 'string' ? o.summary : `live demo: ${o.status}` };
  }
  return { status: 'fail', summary: `runLiveDemo returned an unexpected value: ${JSON.stringify(r)}` };
}

/** In order: (a) host check, (b) GPU host + CDI + QEMU line, (c) policy, (d) attestation, (e) live. */
export const DEMO_STEPS: readonly DemoStep[] = [hostCheckStep, gpuHostStep, policyStep, attestationStep, liveStep];

export interface DemoStepResult extends StepOutcome {
  id: string;
  title: string;
  ms: number;
}

export interface DemoReport {
  ok: boolean;
  steps: DemoStepResult[];
}

export interface RunDemoOptions {
  /** Step ids to run (default: all). */
  only?: readonly string[];
  /** Where the narration goes (default: stdout). */
  write?: (text: string) => void;
  steps?: readonly DemoStep[];
}

const LABEL: Record<StepStatus, string> = { pass: 'PASS', fail: 'FAIL', skip: 'SKIP' };

function output(write: (text: string) => void): DemoOutput {
  return {
    say: (line) => write(`    ${line}\n`),
    show: (text) =>
      write(
        text
          .replace(/\n$/, '')
          .split('\n')
          .map((l) => `      | ${l}\n`)
          .join(''),
      ),
  };
}

export function formatSummary(steps: readonly DemoStepResult[]): string {
  const rows = steps.map((s, i) => [`${i + 1}. ${s.id}`, LABEL[s.status], `${(s.ms / 1000).toFixed(1)}s`, s.summary]);
  const w0 = Math.max(4, ...rows.map((r) => r[0]!.length));
  const line = (r: string[]): string => `  ${r[0]!.padEnd(w0)}  ${r[1]!.padEnd(6)}  ${r[2]!.padStart(6)}  ${r[3]}`;
  return [line(['step', 'result', 'time', 'what happened']), ...rows.map(line)].join('\n') + '\n';
}

export async function runDemo(opts: RunDemoOptions = {}): Promise<DemoReport> {
  const write = opts.write ?? ((t: string) => void process.stdout.write(t));
  const all = opts.steps ?? DEMO_STEPS;
  const unknown = (opts.only ?? []).filter((id) => !all.some((s) => s.id === id));
  if (unknown.length > 0) {
    throw new Error(`unknown demo step(s) ${unknown.join(', ')}; the steps are ${all.map((s) => s.id).join(', ')}`);
  }
  const steps = opts.only?.length ? all.filter((s) => opts.only!.includes(s.id)) : all;
  const packageRoot = findPackageRoot();
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'ccgpu-demo-'));
  const out = output(write);
  const results: DemoStepResult[] = [];
  write('ccgpu demo: confidential GPU containers, shown on this machine (no TEE and no GPU needed)\n');
  try {
    for (const [i, step] of steps.entries()) {
      write(`\n[${i + 1}/${steps.length}] ${step.title}\n`);
      const workDir = path.join(base, step.id);
      fs.mkdirSync(workDir, { recursive: true });
      const t = Date.now();
      let outcome: StepOutcome;
      try {
        outcome = await step.run({ out, workDir, packageRoot });
      } catch (e) {
        outcome = { status: 'fail', summary: `crashed: ${errorMessage(e)}` };
      }
      const ms = Date.now() - t;
      results.push({ id: step.id, title: step.title, ms, ...outcome });
      write(`  => ${LABEL[outcome.status]}: ${outcome.summary}\n`);
    }
  } finally {
    fs.rmSync(base, { recursive: true, force: true });
  }
  const ok = results.every((r) => r.status !== 'fail');
  write(`\nSummary\n${formatSummary(results)}`);
  const counted = (s: StepStatus): number => results.filter((r) => r.status === s).length;
  write(
    `\n${ok ? 'demo OK' : 'demo FAILED'}: ${counted('pass')} passed, ${counted('fail')} failed, ${counted('skip')} skipped (cannot run on this machine)\n`,
  );
  return { ok, steps: results };
}
