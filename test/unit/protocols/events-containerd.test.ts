/**
 * Reference check 11 against a real containerd: our EventsClient forwards TaskCreate/TaskStart/TaskExit to
 * containerd's ttrpc socket (what $TTRPC_ADDRESS points a shim at) and `ctr events` shows containerd decoded them.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventsClient, timestampFromDate } from '../../../src/protocols/index.js';

const have = spawnSync('sh', ['-c', 'command -v containerd && command -v ctr']).status === 0;
const root = process.getuid?.() === 0;
if (!have) console.warn('skipping real-containerd events test: containerd/ctr not installed');
else if (!root) console.warn('skipping real-containerd events test: needs root to run containerd');

describe.skipIf(!have || !root)('events forwarded to a real containerd (needs containerd, root)', () => {
  let dir = '';
  let containerd: ChildProcess | undefined;
  let watcher: ChildProcess | undefined;
  let lines: string[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'ccgpu-ctrd-'));
    const cfg = path.join(dir, 'config.toml');
    writeFileSync(
      cfg,
      [
        'version = 2',
        `root = "${dir}/root"`,
        `state = "${dir}/state"`,
        'disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.aufs"]',
        '[grpc]',
        `  address = "${dir}/c.sock"`,
        '[ttrpc]',
        `  address = "${dir}/c.sock.ttrpc"`,
        '',
      ].join('\n'),
    );
    containerd = spawn('containerd', ['--config', cfg], { stdio: ['ignore', 'ignore', 'ignore'] });
    const until = Date.now() + 15_000;
    while (!existsSync(path.join(dir, 'c.sock.ttrpc')) || !existsSync(path.join(dir, 'c.sock'))) {
      if (Date.now() > until || containerd.exitCode !== null) throw new Error('containerd did not start');
      await new Promise((r) => setTimeout(r, 50));
    }
    watcher = spawn('ctr', ['--address', path.join(dir, 'c.sock'), 'events'], { stdio: ['ignore', 'pipe', 'ignore'] });
    let buf = '';
    watcher.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      const parts = buf.split('\n');
      buf = parts.pop()!;
      lines.push(...parts.filter((l) => l.trim().length > 0));
    });
    // give the subscription a moment to be registered
    await new Promise((r) => setTimeout(r, 500));
  });

  afterAll(() => {
    if (watcher && watcher.exitCode === null) watcher.kill('SIGKILL');
    if (containerd && containerd.exitCode === null) containerd.kill('SIGKILL');
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('create, start and exit arrive in order with namespace k8s.io and the exit fields decoded', async () => {
    lines = [];
    const ev = new EventsClient(path.join(dir, 'c.sock.ttrpc'));
    try {
      await ev.publish('/tasks/create', 'k8s.io', { containerId: 'c1', bundle: '/run/b/c1', pid: 1234 });
      await ev.publish('/tasks/start', 'k8s.io', { containerId: 'c1', pid: 1234 });
      await ev.publish('/tasks/exit', 'k8s.io', {
        containerId: 'c1',
        id: 'c1',
        pid: 1234,
        exitStatus: 137,
        exitedAt: timestampFromDate(new Date(1_700_000_000_000)),
      });
    } finally {
      ev.close();
    }
    const until = Date.now() + 5000;
    while (lines.length < 3 && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
    expect(lines.map((l) => l.split(' ').slice(4, 6).join(' '))).toEqual([
      'k8s.io /tasks/create',
      'k8s.io /tasks/start',
      'k8s.io /tasks/exit',
    ]);
    const exitJson = JSON.parse(lines[2]!.slice(lines[2]!.indexOf('{'))) as Record<string, unknown>;
    expect(exitJson).toEqual({
      container_id: 'c1',
      id: 'c1',
      pid: 1234,
      exit_status: 137,
      exited_at: '2023-11-14T22:13:20Z',
    });
  });
});
