/**
 * End to end with a real containerd 1.6 (Debian bookworm): `ctr run --runtime io.containerd.ccgpu.v2` starts our
 * shim, which boots a QEMU guest (TCG) running our agent, which runs the container with runc. Checks output, exit
 * codes, exec, stdin, a terminal, kill, cleanup, and the VM dying under a running task.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startContainerd, type TestContainerd } from '../fixtures/containerd.js';
import { buildBusyboxImageTar } from '../fixtures/oci/busybox-image.js';
import { guestImage, leftovers, missingForE2e, shimBinDir, writeE2eConfig } from '../fixtures/ccgpu-test-env.js';

const missing = missingForE2e();
if (missing.length) console.warn(`SKIP containerd 1.6 e2e: missing ${missing.join(', ')}`);
const IMAGE = 'docker.io/library/ccgpu-busybox:test';
const RUNTIME = 'io.containerd.ccgpu.v2';

describe.skipIf(missing.length > 0)('containerd 1.6 + ccgpu shim + QEMU guest + agent', () => {
  let ctd: TestContainerd;
  let dir: string;

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ccgpu-e2e-'));
    const img = await guestImage();
    const config = writeE2eConfig(path.join(dir, 'etc'), img);
    ctd = await startContainerd({ dir: path.join(dir, 'containerd'), shimBinDir: shimBinDir(path.join(dir, 'bin')), env: { KATA_CONF_FILE: config, CCGPU_LOG_LEVEL: 'debug' } });
    const tar = await buildBusyboxImageTar(path.join(dir, 'busybox.tar'), IMAGE);
    const r = ctd.ctr(['-n', 'default', 'images', 'import', '--no-unpack=false', tar]);
    expect(r.code, r.stderr).toBe(0);
  }, 600_000);

  afterAll(async () => {
    await ctd?.stop();
    if (process.env.CCGPU_KEEP_E2E) console.warn(`e2e state kept in ${dir}`);
    else if (dir) fs.rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  const run = (args: string[], input?: string) => ctd.ctr(['-n', 'default', ...args], { input, timeoutMs: 300_000 });
  const diag = (r: { stdout: string; stderr: string }) => `${r.stdout}\n${r.stderr}\n--- containerd log tail:\n${ctd.logs().slice(-4000)}`;

  it('echo hello prints hello; the sandbox leaves nothing behind', () => {
    const r = run(['run', '--rm', '--runtime', RUNTIME, IMAGE, 'e2e-hello', 'echo', 'hello']);
    expect(r.code, diag(r)).toBe(0);
    expect(r.stdout).toBe('hello\n');
    expect(leftovers('e2e-hello')).toEqual([]);
  }, 300_000);

  it('exit codes propagate', () => {
    const r = run(['run', '--rm', '--runtime', RUNTIME, IMAGE, 'e2e-exit', 'sh', '-c', 'echo out; echo err >&2; exit 3']);
    expect(r.code, diag(r)).toBe(3);
    expect(r.stdout).toBe('out\n');
    expect(r.stderr).toContain('err\n');
  }, 300_000);

  it('stdin reaches the container', () => {
    // ctr attaches its stdin to the task's: the text comes back through cat, then EOF ends cat
    const r = run(['run', '--rm', '--runtime', RUNTIME, IMAGE, 'e2e-stdin', 'sh', '-c', 'cat; echo done'], 'piped input\n');
    expect(r.code, diag(r)).toBe(0);
    expect(r.stdout).toBe('piped input\ndone\n');
  }, 300_000);

  it('exec, a terminal, kill and delete on a running task', () => {
    const id = 'e2e-long';
    let r = run(['run', '-d', '--runtime', RUNTIME, IMAGE, id, 'sleep', '600']);
    expect(r.code, diag(r)).toBe(0);
    r = run(['task', 'exec', '--exec-id', 'x1', id, 'sh', '-c', 'echo inside $(hostname)']);
    expect(r.code, diag(r)).toBe(0);
    expect(r.stdout).toMatch(/^inside /);
    r = run(['task', 'exec', '--exec-id', 'x2', id, 'sh', '-c', 'exit 7']);
    expect(r.code, diag(r)).toBe(7);
    // a terminal: ctr needs a tty of its own, given by script(1)
    const t = spawnSync('script', ['-qec', `ctr --address ${ctd.socket} -n default task exec -t --exec-id x3 ${id} sh -c 'tty; stty size'`, '/dev/null'], {
      encoding: 'utf8',
      timeout: 120_000,
      env: { ...process.env, COLUMNS: '100', LINES: '30' },
    });
    expect(t.status, `${t.stdout}\n${t.stderr}`).toBe(0);
    expect(t.stdout).toMatch(/\/dev\/pts\/\d+/);
    r = run(['task', 'ls']);
    expect(r.stdout).toMatch(new RegExp(`${id}\\s+\\d+\\s+RUNNING`));
    r = run(['task', 'kill', '-s', 'SIGKILL', id]);
    expect(r.code, diag(r)).toBe(0);
    for (let i = 0; i < 100; i++) {
      if (/STOPPED/.test(run(['task', 'ls']).stdout)) break;
      spawnSync('sleep', ['0.2']);
    }
    expect(run(['task', 'ls']).stdout).toMatch(new RegExp(`${id}\\s+\\d+\\s+STOPPED`));
    r = run(['task', 'rm', id]);
    expect(r.code, diag(r)).toBe(0);
    r = run(['container', 'rm', id]);
    expect(r.code, diag(r)).toBe(0);
    expect(leftovers(id)).toEqual([]);
  }, 400_000);

  it('QEMU killed under a running task: the task exits and the sandbox is cleaned up', () => {
    const id = 'e2e-crash';
    let r = run(['run', '-d', '--runtime', RUNTIME, IMAGE, id, 'sleep', '600']);
    expect(r.code, diag(r)).toBe(0);
    const pid = Number(fs.readFileSync(`/run/ccgpu/${id}/pid`, 'utf8').trim());
    process.kill(pid, 'SIGKILL');
    for (let i = 0; i < 100; i++) {
      if (/STOPPED/.test(run(['task', 'ls']).stdout)) break;
      spawnSync('sleep', ['0.2']);
    }
    expect(run(['task', 'ls']).stdout).toMatch(new RegExp(`${id}\\s+\\d+\\s+STOPPED`));
    r = run(['task', 'rm', id]);
    expect(r.code, diag(r)).toBe(0);
    run(['container', 'rm', id]);
    expect(leftovers(id)).toEqual([]);
  }, 300_000);
});
