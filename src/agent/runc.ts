/**
 * The runc command line as the agent uses it: global flags (state root, JSON log file, cgroup driver) and the
 * short-lived commands (kill, delete, state). Long-running `runc run` / `runc exec` are started by
 * container-process.ts with the same global flags.
 */
import { accessSync, constants, readFileSync } from 'node:fs';
import path from 'node:path';
import { CcgpuError, Code } from '../errors/index.js';
import { runCommand } from '../subprocess/index.js';
import type { CgroupDriver } from './cgroup-path.js';

export const RUNC_ROOT = '/run/runc';

/** The first executable `runc` on PATH (plus the usual sbin directories); throws naming the PATH searched. */
export function findRunc(envPath = process.env.PATH ?? ''): string {
  const dirs = [...envPath.split(':').filter(Boolean), '/usr/bin', '/usr/sbin', '/bin', '/sbin', '/usr/local/bin'];
  for (const d of dirs) {
    const p = path.join(d, 'runc');
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      // keep looking
    }
  }
  throw new CcgpuError(`runc not found on PATH (${dirs.join(':')}); the guest image must ship runc`, {
    code: Code.FailedPrecondition,
  });
}

export interface RuncOptions {
  binary: string;
  root?: string;
  cgroupDriver: CgroupDriver;
}

export class Runc {
  constructor(readonly o: RuncOptions) {}

  /** Global flags, with runc's own messages in `logFile` (JSON lines) when given. */
  globalArgs(logFile?: string): string[] {
    const a = ['--root', this.o.root ?? RUNC_ROOT];
    if (logFile) a.push('--log', logFile, '--log-format', 'json');
    if (this.o.cgroupDriver === 'systemd') a.push('--systemd-cgroup');
    return a;
  }

  private async run(args: string[], timeoutMs = 10_000): Promise<void> {
    await runCommand(this.o.binary, [...this.globalArgs(), ...args], { timeoutMs });
  }

  async kill(containerId: string, signal: number, all: boolean): Promise<void> {
    await this.run(['kill', ...(all ? ['--all'] : []), containerId, String(signal)]);
  }

  /** `runc update --resources FILE`: new limits (OCI LinuxResources JSON) for a running container. */
  async update(containerId: string, resourcesFile: string): Promise<void> {
    await this.run(['update', '--resources', resourcesFile, containerId], 20_000);
  }

  async delete(containerId: string): Promise<void> {
    await this.run(['delete', '--force', containerId], 20_000);
  }
}

/** The last error message runc wrote to its JSON log file (`{"level":"error","msg":...}`), if any. */
export function lastRuncError(logFile: string): string | undefined {
  let text: string;
  try {
    text = readFileSync(logFile, 'utf8');
  } catch {
    return undefined;
  }
  let last: string | undefined;
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    try {
      const rec = JSON.parse(line) as { level?: string; msg?: string };
      if ((rec.level === 'error' || rec.level === 'fatal') && rec.msg) last = rec.msg;
    } catch {
      last = line.trim();
    }
  }
  return last;
}

/** Whether `/` is the initramfs (rootfs), where pivot_root(2) fails and runc needs `--no-pivot`. */
export function rootIsInitramfs(mountsText: string): boolean {
  const roots = mountsText
    .split('\n')
    .map((l) => l.split(' '))
    .filter((f) => f[1] === '/');
  if (roots.length === 0) return false;
  const top = roots[roots.length - 1]!;
  return (
    top[2] === 'rootfs' || (roots.length === 1 && (top[2] === 'ramfs' || top[2] === 'tmpfs') && top[0] === 'rootfs')
  );
}
