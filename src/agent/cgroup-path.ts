/**
 * Cgroup driver choice and `cgroupsPath` translation.
 *
 * runc's systemd driver takes `cgroupsPath` as `slice:prefix:name` and creates the unit `<prefix>-<name>.scope`
 * inside `slice`, where a slice name such as `kubepods-besteffort-pod1.slice` nests as
 * `kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod1.slice`. Without systemd as the guest's init
 * that driver cannot work (the Rust agent panicked here), so such a path is translated into the cgroupfs path the
 * systemd driver would have produced.
 */
import { readFileSync } from 'node:fs';
import { CcgpuError, Code } from '../errors/index.js';

export type CgroupDriver = 'systemd' | 'cgroupfs';

/** systemd is the guest's init when PID 1's comm is `systemd`. */
export function detectCgroupDriver(procRoot = '/proc'): CgroupDriver {
  try {
    return readFileSync(`${procRoot}/1/comm`, 'utf8').trim() === 'systemd' ? 'systemd' : 'cgroupfs';
  } catch {
    return 'cgroupfs';
  }
}

/** A systemd-style path has exactly three colon-separated parts and no leading slash. */
export function isSystemdCgroupsPath(p: string): boolean {
  return !p.startsWith('/') && p.split(':').length === 3;
}

function cgroupError(p: string, why: string): CcgpuError {
  return new CcgpuError(`linux.cgroupsPath "${p}": ${why}`, {
    code: Code.InvalidArgument,
    details: { field: 'linux.cgroupsPath' },
  });
}

/** `a-b-c.slice` → `/a.slice/a-b.slice/a-b-c.slice` (systemd's slice nesting); `-.slice` is the root. */
export function expandSlice(slice: string, whole: string): string {
  if (slice === '' || slice === '-.slice') return '';
  if (!slice.endsWith('.slice')) throw cgroupError(whole, `"${slice}" is not a slice name (must end in .slice)`);
  const base = slice.slice(0, -'.slice'.length);
  if (base.includes('/') || base.startsWith('-') || base.endsWith('-') || base.includes('--')) {
    throw cgroupError(whole, `"${slice}" is not a valid slice name`);
  }
  const parts = base.split('-');
  let out = '';
  let prefix = '';
  for (const part of parts) {
    prefix = prefix ? `${prefix}-${part}` : part;
    out += `/${prefix}.slice`;
  }
  return out;
}

/**
 * The `cgroupsPath` to give runc for the chosen driver. For cgroupfs: a systemd-style path is translated, a
 * relative path is made absolute, an empty one becomes `/<containerId>` (runc's default). For systemd: a
 * systemd-style path passes through; anything else is rejected with a clear message.
 */
export function cgroupsPathFor(driver: CgroupDriver, requested: string | undefined, containerId: string): string {
  const p = (requested ?? '').trim();
  if (driver === 'systemd') {
    if (p === '') return `system.slice:ccgpu:${containerId}`;
    if (!isSystemdCgroupsPath(p)) throw cgroupError(p, 'the guest runs systemd, which needs "slice:prefix:name"');
    return p;
  }
  if (p === '') return `/${containerId}`;
  if (isSystemdCgroupsPath(p)) {
    const [slice = '', prefix = '', name = ''] = p.split(':');
    if (name === '') throw cgroupError(p, 'the name part of "slice:prefix:name" is empty');
    if (name.includes('/') || prefix.includes('/')) throw cgroupError(p, 'prefix and name must not contain "/"');
    const unit = name.endsWith('.slice') ? name : prefix ? `${prefix}-${name}.scope` : `${name}.scope`;
    return `${expandSlice(slice || 'system.slice', p)}/${unit}`;
  }
  if (p.split('/').includes('..')) throw cgroupError(p, 'must not contain ".."');
  return p.startsWith('/') ? p : `/${p}`;
}
