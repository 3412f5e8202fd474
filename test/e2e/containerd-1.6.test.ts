/**
 * End to end with a real containerd 1.6 (Debian bookworm): `ctr run --runtime io.containerd.ccgpu.v2` starts our
 * shim, which boots a QEMU guest (TCG) running our agent, which runs the container with runc. Checks output, exit
 * codes, exec, stdin, a terminal, kill, cleanup, and the VM dying under a running task.
 */
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeInitdataAnnotation, INITDATA_ANNOTATION } from '../../attestation/initdata/index.js';
import { serviceMethods } from '../../src/protocols/index.js';
import { runAsync, type TestContainerd } from '../fixtures/containerd.js';
import {
  leftovers,
  missingForE2e,
  startE2eEnvironment,
  stopE2eEnvironment,
  type E2eEnvironment,
} from '../fixtures/ccgpu-test-env.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const missing = missingForE2e();
if (missing.length) console.warn(`SKIP containerd 1.6 e2e: missing ${missing.join(', ')}`);
const IMAGE = 'docker.io/library/ccgpu-busybox:test';
const RUNTIME = 'io.containerd.ccgpu.v2';

describe.skipIf(missing.length > 0)('containerd 1.6 + ccgpu shim + QEMU guest + agent', () => {
  let env: E2eEnvironment;
  let ctd: TestContainerd;

  beforeAll(async () => {
    env = await startE2eEnvironment({ prefix: 'ccgpu-e2e-', image: IMAGE });
    ctd = env.ctd;
  }, 600_000);

  afterAll(() => stopE2eEnvironment(env), 60_000);

  const run = async (args: string[], input?: string) =>
    ctd.ctr(['-n', 'default', ...args], { input, timeoutMs: 300_000 });
  const diag = (r: { stdout: string; stderr: string }) =>
    `${r.stdout}\n${r.stderr}\n--- containerd log tail:\n${ctd.logs().slice(-4000)}`;

  it('echo hello prints hello; the sandbox leaves nothing behind', async () => {
    const r = await run(['run', '--rm', '--runtime', RUNTIME, IMAGE, 'e2e-hello', 'echo', 'hello']);
    expect(r.code, diag(r)).toBe(0);
    expect(r.stdout).toBe('hello\n');
    expect(leftovers('e2e-hello')).toEqual([]);
  }, 300_000);

  it('exit codes propagate', async () => {
    const r = await run([
      'run',
      '--rm',
      '--runtime',
      RUNTIME,
      IMAGE,
      'e2e-exit',
      'sh',
      '-c',
      'echo out; echo err >&2; exit 3',
    ]);
    expect(r.code, diag(r)).toBe(3);
    expect(r.stdout).toBe('out\n');
    expect(r.stderr).toContain('err\n');
  }, 300_000);

  it('stdin reaches the container', async () => {
    // ctr attaches its stdin to the task's: the text comes back through cat, then EOF ends cat
    const r = await run(
      ['run', '--rm', '--runtime', RUNTIME, IMAGE, 'e2e-stdin', 'sh', '-c', 'cat; echo done'],
      'piped input\n',
    );
    expect(r.code, diag(r)).toBe(0);
    expect(r.stdout).toBe('piped input\ndone\n');
  }, 300_000);

  it('exec, a terminal, kill and delete on a running task', async () => {
    const id = 'e2e-long';
    let r = await run(['run', '-d', '--runtime', RUNTIME, IMAGE, id, 'sleep', '600']);
    expect(r.code, diag(r)).toBe(0);
    r = await run(['task', 'exec', '--exec-id', 'x1', id, 'sh', '-c', 'echo inside $(hostname)']);
    expect(r.code, diag(r)).toBe(0);
    expect(r.stdout).toMatch(/^inside /);
    r = await run(['task', 'exec', '--exec-id', 'x2', id, 'sh', '-c', 'exit 7']);
    expect(r.code, diag(r)).toBe(7);
    // a terminal: ctr needs a tty of its own, given by script(1)
    const t = await runAsync(
      'script',
      [
        '-qec',
        `ctr --address ${ctd.socket} -n default task exec -t --exec-id x3 ${id} sh -c 'tty; stty size'`,
        '/dev/null',
      ],
      {
        timeoutMs: 120_000,
        env: { ...process.env, COLUMNS: '100', LINES: '30' },
      },
    );
    expect(t.code, `${t.stdout}\n${t.stderr}`).toBe(0);
    expect(t.stdout).toMatch(/\/dev\/pts\/\d+/);
    r = await run(['task', 'ls']);
    expect(r.stdout).toMatch(new RegExp(`${id}\\s+\\d+\\s+RUNNING`));
    // Stats: the container's cgroup in the guest as cgroup v2 metrics
    r = await run(['task', 'metrics', id]);
    expect(r.code, diag(r)).toBe(0);
    expect(r.stdout).toMatch(/pids\.current\s+[1-9]/);
    r = await run(['task', 'kill', '-s', 'SIGKILL', id]);
    expect(r.code, diag(r)).toBe(0);
    for (let i = 0; i < 100; i++) {
      if (/STOPPED/.test((await run(['task', 'ls'])).stdout)) break;
      await sleep(200);
    }
    expect((await run(['task', 'ls'])).stdout).toMatch(new RegExp(`${id}\\s+\\d+\\s+STOPPED`));
    r = await run(['task', 'rm', id]);
    expect(r.code, diag(r)).toBe(0);
    r = await run(['container', 'rm', id]);
    expect(r.code, diag(r)).toBe(0);
    expect(leftovers(id)).toEqual([]);
  }, 400_000);

  it('an OOM kill in the guest reaches containerd as a /tasks/oom event', async () => {
    const r = await run([
      'run',
      '--rm',
      '--runtime',
      RUNTIME,
      '--memory-limit',
      String(48 * 1024 * 1024),
      IMAGE,
      'e2e-oom',
      'sh',
      '-c',
      'x=aaaaaaaa; while :; do x=$x$x; done',
    ]);
    expect(r.code, diag(r)).toBe(137);
    expect(ctd.logs()).toMatch(/topic=\/tasks\/oom/);
  }, 300_000);

  it('enforces the agent policy from the cc_init_data annotation (initdata disk → agent)', async () => {
    // every request allowed by default, except an exec whose arguments contain "forbidden"
    const requests = serviceMethods('grpc.AgentService').map((m) => m.requestType.name);
    const policy = [
      'package agent_policy',
      'import rego.v1',
      ...[...new Set(requests)].filter((r) => r !== 'ExecProcessRequest').map((r) => `default ${r} := true`),
      'default ExecProcessRequest := false',
      'ExecProcessRequest if {',
      '  every a in input.process.Args { a != "forbidden" }',
      '}',
    ].join('\n');
    const toml = `version = "0.1.0"\nalgorithm = "sha256"\n[data]\n"policy.rego" = '''\n${policy}\n'''\n`;
    const id = 'e2e-policy';
    let r = await run([
      'run',
      '-d',
      '--runtime',
      RUNTIME,
      '--annotation',
      `${INITDATA_ANNOTATION}=${encodeInitdataAnnotation(toml)}`,
      IMAGE,
      id,
      'sleep',
      '600',
    ]);
    expect(r.code, diag(r)).toBe(0);
    r = await run(['task', 'exec', '--exec-id', 'ok1', id, 'echo', 'allowed']);
    expect(r.code, diag(r)).toBe(0);
    expect(r.stdout).toBe('allowed\n');
    r = await run(['task', 'exec', '--exec-id', 'no1', id, 'echo', 'forbidden']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/ExecProcessRequest is blocked by policy/);
    r = await run(['task', 'kill', '-s', 'SIGKILL', id]);
    for (let i = 0; i < 100; i++) {
      if (/STOPPED/.test((await run(['task', 'ls'])).stdout)) break;
      await sleep(200);
    }
    expect((await run(['task', 'rm', id])).code).toBe(0);
    expect((await run(['container', 'rm', id])).code).toBe(0);
    expect(leftovers(id)).toEqual([]);
  }, 400_000);

  it('QEMU killed under a running task: the task exits and the sandbox is cleaned up', async () => {
    const id = 'e2e-crash';
    let r = await run(['run', '-d', '--runtime', RUNTIME, IMAGE, id, 'sleep', '600']);
    expect(r.code, diag(r)).toBe(0);
    const pid = Number(fs.readFileSync(`/run/ccgpu/${id}/pid`, 'utf8').trim());
    process.kill(pid, 'SIGKILL');
    for (let i = 0; i < 100; i++) {
      if (/STOPPED/.test((await run(['task', 'ls'])).stdout)) break;
      await sleep(200);
    }
    expect((await run(['task', 'ls'])).stdout).toMatch(new RegExp(`${id}\\s+\\d+\\s+STOPPED`));
    r = await run(['task', 'rm', id]);
    expect(r.code, diag(r)).toBe(0);
    await run(['container', 'rm', id]);
    expect(leftovers(id)).toEqual([]);
  }, 300_000);
});
