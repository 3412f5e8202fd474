import { describe, expect, it, vi } from 'vitest';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { evaluateRequests, explainDenial, parseRequestLog, summariseTimings } from '../../../../policy/agent/index.js';
import { run } from '../../../../src/cli/commands/policy.js';

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

  it('ccgpu policy eval prints decisions on stdout and timings on stderr; explain prints the reason', async () => {
    const { inputs, outputs } = fixture();
    const tmp = mkdtempSync(path.join(tmpdir(), 'ccgpu-policy-'));
    const reqFile = path.join(tmp, 'denied.txt');
    writeFileSync(reqFile, deniedSandbox(inputs) + '\n');
    const policyFile = path.join(dir, 'policy.rego');
    const inputsFile = path.join(dir, 'inputs.txt');
    const ev = await cli('eval', '--policy', policyFile, '--requests', inputsFile, '--repeat', '2');
    expect(ev.status, ev.stderr).toBe(0);
    expect(JSON.parse(ev.stdout)).toEqual(outputs);
    expect(ev.stderr).toMatch(/CreateContainerRequest\s+n=\s+\d+\s+p50=/);
    const fresh = await cli('eval', '--policy', policyFile, '--requests', inputsFile, '--fresh');
    expect(fresh.status, fresh.stderr).toBe(0);
    expect(JSON.parse(fresh.stdout)).toEqual(outputs);
    // the denied request: false in eval, explained by explain
    const denied = await cli('eval', '--policy', policyFile, '--requests', reqFile);
    expect(JSON.parse(denied.stdout)).toEqual([false]);
    const ex = await cli('explain', '--policy', policyFile, '--requests', reqFile);
    expect(ex.status, ex.stderr).toBe(0);
    expect(ex.stdout).toContain('request: CreateSandboxRequest (line 1)');
    expect(ex.stdout).toContain('decision: denied');
    expect(ex.stdout).toContain('count(input.kernel_modules) == 0');
    expect(ex.stdout).toContain(`${policyFile}:1165: CreateSandboxRequest: input.kernel_modules = ["evil"]`);
    const missing = await cli('eval', '--policy', policyFile);
    expect(missing.status).toBe(1);
    expect(missing.stderr).toContain('--requests FILE is required');
    const badRepeat = await cli('eval', '--policy', policyFile, '--requests', inputsFile, '--repeat', 'x');
    expect(badRepeat.status).toBe(1);
    expect(badRepeat.stderr).toContain('--repeat must be a non-negative integer');
    expect((await cli('nope')).status).toBe(2);
  }, 120_000);
});

/** Runs `ccgpu policy ...` through the command's run() with stdout/stderr captured. */
async function cli(...args: string[]): Promise<{ status: number; stdout: string; stderr: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const so = vi.spyOn(process.stdout, 'write').mockImplementation((c: string | Uint8Array) => {
    out.push(String(c));
    return true;
  });
  const se = vi.spyOn(process.stderr, 'write').mockImplementation((c: string | Uint8Array) => {
    err.push(String(c));
    return true;
  });
  try {
    const status = await run(args);
    return { status, stdout: out.join(''), stderr: err.join('') };
  } finally {
    so.mockRestore();
    se.mockRestore();
  }
}
