import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { evaluateRequests, explainDenial, parseRequestLog, summariseTimings } from '../../../../policy/agent/index.js';

const repoRoot = path.resolve(import.meta.dirname, '../../../..');
const dir = path.resolve(import.meta.dirname, '../../../../../shared/vectors/policy/regorus-kata/pod-exec');
const have = existsSync(dir);
if (!have) console.warn(`skipping policy eval/explain tests: ${dir} is missing`);

function fixture(): { policy: string; inputs: string; outputs: unknown[] } {
  return {
    policy: readFileSync(path.join(dir, 'policy.rego'), 'utf8'),
    inputs: readFileSync(path.join(dir, 'inputs.txt'), 'utf8'),
    outputs: JSON.parse(readFileSync(path.join(dir, 'outputs.json'), 'utf8')) as unknown[],
  };
}

/** pod-exec's CreateSandboxRequest with a kernel module added: denied by `count(input.kernel_modules) == 0`. */
function deniedSandbox(inputs: string): string {
  const line = inputs.split('\n').find((l) => l.includes('"ep":"CreateSandboxRequest"')) as string;
  return line.replace('"kernel_modules":[]', '"kernel_modules":["evil"]');
}

describe.skipIf(!have)('policy eval / explain', () => {
  it('parses the inputs.txt format and reports errors with line numbers', () => {
    const reqs = parseRequestLog('["ep":"A",{"x":1}],\n\n{"kind":"B","request":{}}\n');
    expect(reqs).toEqual([
      { name: 'A', input: { x: 1 }, line: 1 },
      { name: 'B', input: {}, line: 3 },
    ]);
    expect(() => parseRequestLog('["ep":"A",{bad}],', 'f.txt')).toThrow(/^f.txt:1: invalid request JSON/);
    expect(() => parseRequestLog('{"x": 1}', 'f.txt')).toThrow(/^f.txt:1: expected/);
  });

  it('evaluateRequests reproduces outputs.json with state carried and with --fresh, repeated', () => {
    const { policy, inputs, outputs } = fixture();
    const reqs = parseRequestLog(inputs);
    const carried = evaluateRequests(policy, reqs, { repeat: 2 });
    expect(carried.decisions).toEqual(outputs);
    expect(evaluateRequests(policy, reqs, { fresh: true }).decisions).toEqual(outputs);
    const t = summariseTimings(carried.timings);
    const cc = t.find((x) => x.request === 'CreateContainerRequest');
    expect(cc?.count).toBe(2 * reqs.filter((r) => r.name === 'CreateContainerRequest').length);
  });

  it('explainDenial names the failed rule expression and returns the prints', () => {
    const { policy, inputs } = fixture();
    const reqs = parseRequestLog(deniedSandbox(inputs));
    const ex = explainDenial(policy, reqs);
    expect(ex.request).toBe('CreateSandboxRequest');
    expect(ex.allowed).toBe(false);
    expect(ex.failedRule?.rule).toBe('CreateSandboxRequest');
    expect(ex.failedRule?.text).toBe('count(input.kernel_modules) == 0');
    expect(ex.prints).toContain('agent_policy:1165: CreateSandboxRequest: input.kernel_modules = ["evil"]');
  });

  it('ccgpu policy eval prints decisions on stdout and timings on stderr; explain prints the reason', () => {
    const { inputs, outputs } = fixture();
    const tmp = mkdtempSync(path.join(tmpdir(), 'ccgpu-policy-'));
    const reqFile = path.join(tmp, 'denied.txt');
    writeFileSync(reqFile, deniedSandbox(inputs) + '\n');
    const cli = (...args: string[]): { status: number | null; stdout: string; stderr: string } =>
      spawnSync(process.execPath, ['--import', 'tsx', path.join(repoRoot, 'src/cli/main.ts'), 'policy', ...args], {
        cwd: repoRoot,
        encoding: 'utf8',
        timeout: 60_000,
      });
    const ev = cli(
      'eval',
      '--policy',
      path.join(dir, 'policy.rego'),
      '--requests',
      path.join(dir, 'inputs.txt'),
      '--repeat',
      '2',
    );
    expect(ev.status, ev.stderr).toBe(0);
    expect(JSON.parse(ev.stdout)).toEqual(outputs);
    expect(ev.stderr).toMatch(/CreateContainerRequest\s+n=\s+\d+\s+p50=/);
    const ex = cli('explain', '--policy', path.join(dir, 'policy.rego'), '--requests', reqFile);
    expect(ex.status, ex.stderr).toBe(0);
    expect(ex.stdout).toContain('decision: denied');
    expect(ex.stdout).toContain('count(input.kernel_modules) == 0');
    const missing = cli('eval', '--policy', path.join(dir, 'policy.rego'));
    expect(missing.status).toBe(1);
    expect(missing.stderr).toContain('--requests FILE is required');
  }, 120_000);
});
