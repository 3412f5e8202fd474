/**
 * Container root filesystems and bind mounts on the host: mount containerd's rootfs mounts on `<bundle>/rootfs`
 * (what a shim must do), and bind them, and the container's bind-mount sources, into the directory shared with the
 * guest. Mounting goes through util-linux `mount`/`umount`.
 */
import fs from 'node:fs';
import path from 'node:path';
import { runCommand } from '../subprocess/index.js';
import { CcgpuError, Code, errorMessage } from '../errors/index.js';

export interface MountSpec {
  type: string;
  source: string;
  target?: string;
  options: string[];
}

export async function mount(m: MountSpec, target: string): Promise<void> {
  fs.mkdirSync(target, { recursive: true });
  const args = ['-t', m.type || 'none'];
  const opts = m.options.filter(Boolean);
  if (opts.length) args.push('-o', opts.join(','));
  args.push(m.source, target);
  try {
    await runCommand('mount', args, { timeoutMs: 30_000 });
  } catch (e) {
    throw new CcgpuError(`mounting ${m.type} ${m.source} on ${target} failed: ${errorMessage(e)}`, {
      code: Code.Internal,
      cause: e,
    });
  }
}

export async function bindMount(source: string, target: string, readonly = false): Promise<void> {
  const isDir = fs.statSync(source).isDirectory();
  if (isDir) fs.mkdirSync(target, { recursive: true });
  else {
    fs.mkdirSync(path.dirname(target), { recursive: true });
    if (!fs.existsSync(target)) fs.writeFileSync(target, '');
  }
  await runCommand('mount', ['--bind', source, target], { timeoutMs: 30_000 });
  if (readonly) await runCommand('mount', ['-o', 'remount,bind,ro', target], { timeoutMs: 30_000 });
}

/** Whether `p` is a mount point (listed in /proc/self/mountinfo). */
export function isMountPoint(p: string): boolean {
  const abs = path.resolve(p);
  try {
    return fs
      .readFileSync('/proc/self/mountinfo', 'utf8')
      .split('\n')
      .some((l) => l.split(' ')[4]?.replace(/\\040/g, ' ') === abs);
  } catch {
    return false;
  }
}

/** Unmounts `p` (lazily if busy) if it is mounted; never throws for "not mounted". */
export async function unmountIfMounted(p: string): Promise<void> {
  for (let i = 0; i < 8 && isMountPoint(p); i++) {
    const r = await runCommand('umount', [p], { allowFailure: true, timeoutMs: 30_000 });
    if (r.code !== 0) await runCommand('umount', ['-l', p], { allowFailure: true, timeoutMs: 30_000 });
  }
}

/** Mounts containerd's rootfs mounts on `target` (one overlay/bind mount, as containerd sends). */
export async function mountRootfs(mounts: MountSpec[], target: string): Promise<void> {
  if (mounts.length === 0) return; // rootfs prepared by the caller (e.g. `ctr run --rootfs`)
  if (mounts.length > 1)
    throw new CcgpuError(`expected one rootfs mount, got ${mounts.length}`, { code: Code.InvalidArgument });
  await mount(mounts[0]!, target);
}
