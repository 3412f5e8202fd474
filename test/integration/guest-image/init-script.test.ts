import { describe, it, expect } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { renderInitScript, shQuote } from '../../../src/guest-image/index.js';

const BUSYBOX = ['/bin/busybox', '/usr/bin/busybox'].find((p) => existsSync(p));
if (!BUSYBOX) console.warn('guest-image init tests: busybox not installed (Debian package "busybox-static"); skipped');

function sh(script: string, env: Record<string, string> = {}) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ccgpu-init-'));
  try {
    const f = path.join(dir, 'init');
    writeFileSync(f, script, { mode: 0o755 });
    return spawnSync(BUSYBOX!, ['sh', f], { encoding: 'utf8', env: { PATH: process.env.PATH ?? '', ...env } });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('guest /init script', () => {
  const base = { modules: ['kernel/drivers/virtio/virtio.ko', "odd'name.ko"], kernelRelease: '6.1.0-56-cloud-amd64' };

  it.skipIf(!BUSYBOX)('is valid busybox sh in initramfs mode and in rootfs mode', () => {
    for (const rootfs of [undefined, { device: '/dev/vda', fstype: 'erofs' as const }]) {
      const s = renderInitScript({ ...base, rootfs, exec: ['/usr/bin/node', '/agent.mjs'], env: { A: "x'y" } });
      const dir = mkdtempSync(path.join(os.tmpdir(), 'ccgpu-init-'));
      writeFileSync(path.join(dir, 'init'), s);
      const r = spawnSync(BUSYBOX!, ['sh', '-n', path.join(dir, 'init')], { encoding: 'utf8' });
      rmSync(dir, { recursive: true, force: true });
      expect(r.status, r.stderr).toBe(0);
      expect(s.startsWith('#!/bin/busybox sh\n')).toBe(true);
      expect(s).toContain(rootfs ? 'exec switch_root /newroot' : "exec '/usr/bin/node' '/agent.mjs'");
    }
  });

  it.skipIf(!BUSYBOX)('runs its stages in order and execs the PID 1 command with arguments and env intact', () => {
    const s = renderInitScript({
      modules: [],
      kernelRelease: 'r',
      mountFilesystems: false,
      virtioPortLinks: false,
      loopback: false,
      exec: [BUSYBOX!, 'sh', '-c', 'echo "args:$1|$2 env:$AGENT_X"', 'sh', "it's", 'a $b `c`'],
      env: { AGENT_X: 'v "1" $HOME' },
    });
    const r = sh(s);
    expect(r.status, r.stderr).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^ccgpu-init: exec /);
    expect(lines.at(-1)).toBe(`args:it's|a $b \`c\` env:v "1" $HOME`);
  });

  it('keeps the mount stage optional so the agent can take it over', () => {
    const withMounts = renderInitScript({ ...base, exec: ['/x'] });
    const without = renderInitScript({ ...base, exec: ['/x'], mountFilesystems: false });
    expect(withMounts).toMatch(/mount -t proc .* \/proc/);
    expect(withMounts).toMatch(/mount -t cgroup2 .* \/sys\/fs\/cgroup/);
    expect(without).not.toMatch(/mount -t/);
    expect(() => renderInitScript({ ...base, exec: [] })).toThrow(/exec must name/);
    expect(() => renderInitScript({ ...base, exec: ['/x'], env: { 'BAD-NAME': '1' } })).toThrow(/BAD-NAME/);
  });

  it.skipIf(!BUSYBOX)('shQuote round-trips arbitrary strings through sh', () => {
    for (const v of ["a'b", '$(id)', '`x`', 'back\\slash', ' spaced  out ', '']) {
      const r = sh(`printf '%s' ${shQuote(v)}\n`);
      expect(r.stdout).toBe(v);
    }
  });
});
