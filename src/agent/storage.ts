/**
 * Storages of CreateSandbox / CreateContainer / UpdateEphemeralMounts: each is mounted at its `mountPoint` by
 * driver. The drivers a ccgpu host sends: `virtio-fs` (the sandbox's shared directory), `9p`, `local` and
 * `ephemeral` (a tmpfs), `bind` (a guest path bound elsewhere). Anything else fails naming the driver.
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { CcgpuError, Code } from '../errors/index.js';
import { runCommand } from '../subprocess/index.js';
import type { Storage } from '../protocols/index.js';

export const STORAGE_DRIVERS = ['virtio-fs', '9p', 'local', 'ephemeral', 'bind'] as const;

export interface MountCommand {
  fstype: string;
  source: string;
  target: string;
  options: string[];
}

function bad(message: string, field: string): CcgpuError {
  return new CcgpuError(message, { code: Code.InvalidArgument, details: { field } });
}

/** Mount options are passed to mount(8) as one `-o` list: no commas or whitespace inside an option. */
function checkOption(o: string, what: string): string {
  if (o === '' || /[,\s]/.test(o)) throw bad(`${what}: mount option "${o}" is not valid`, 'options');
  return o;
}

/** What `mount` gets for a storage; throws InvalidArgument naming the field for anything malformed. */
export function mountCommandFor(s: Storage): MountCommand {
  const what = `storage ${s.source || '(no source)'} → ${s.mountPoint || '(no mount point)'}`;
  if (!path.isAbsolute(s.mountPoint) || s.mountPoint.split('/').includes('..')) {
    throw bad(`${what}: mount_point must be an absolute path without "..", got "${s.mountPoint}"`, 'mount_point');
  }
  const options = s.options.map((o) => checkOption(o, what));
  switch (s.driver) {
    case 'virtio-fs':
      if (!s.source) throw bad(`${what}: a virtio-fs storage needs the mount tag as source`, 'source');
      return { fstype: 'virtiofs', source: s.source, target: s.mountPoint, options };
    case '9p':
      if (!s.source) throw bad(`${what}: a 9p storage needs the mount tag as source`, 'source');
      return {
        fstype: '9p',
        source: s.source,
        target: s.mountPoint,
        options: options.length ? options : ['trans=virtio', 'version=9p2000.L'],
      };
    case 'local':
    case 'ephemeral':
      return { fstype: 'tmpfs', source: 'tmpfs', target: s.mountPoint, options };
    case 'bind':
      if (!path.isAbsolute(s.source))
        throw bad(`${what}: a bind storage needs an absolute guest source path`, 'source');
      return { fstype: 'none', source: s.source, target: s.mountPoint, options: ['bind', ...options] };
    default:
      throw new CcgpuError(
        `${what}: storage driver "${s.driver}" is not supported by the ccgpu agent (supported: ${STORAGE_DRIVERS.join(', ')})`,
        {
          code: Code.Unimplemented,
          details: { field: 'driver' },
        },
      );
  }
}

/** Mounts one storage (creating the mount point). */
export async function mountStorage(s: Storage): Promise<MountCommand> {
  const m = mountCommandFor(s);
  await mkdir(m.target, { recursive: true });
  const args = ['-t', m.fstype, ...(m.options.length ? ['-o', m.options.join(',')] : []), m.source, m.target];
  await runCommand('mount', args, { timeoutMs: 30_000 });
  return m;
}

/** Unmounts (lazily, so a busy mount does not block shutdown); errors are returned, not thrown. */
export async function unmount(target: string): Promise<string | undefined> {
  const r = await runCommand('umount', ['-l', target], { timeoutMs: 10_000, allowFailure: true }).catch((e: Error) => ({
    code: 1,
    stderr: e.message,
    stdout: '',
  }));
  return r.code === 0 ? undefined : r.stderr.trim() || `umount ${target} failed`;
}
