/**
 * Allow-list matching for path-valued annotations (`valid_hypervisor_paths` and friends): glob(3) patterns where
 * `*`, `?` and `[...]` never match `/`. Kata globs the filesystem and compares with the (clean) results; ccgpu
 * matches the pattern only and first refuses any path that is not absolute and clean (no `..`, `.`, `//`), which
 * is what made Kata's filesystem round-trip safe.
 */
import path from 'node:path';

export function globToRegExp(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '[') {
      const end = glob.indexOf(']', i + 2);
      if (end < 0) {
        re += '\\[';
        continue;
      }
      let body = glob.slice(i + 1, end);
      const negate = body.startsWith('!') || body.startsWith('^');
      if (negate) body = body.slice(1);
      body = body.replace(/[\\\]^]/g, (m) => `\\${m}`);
      re += negate ? `(?!/)[^${body}]` : `(?!/)[${body}]`;
      i = end;
    } else if (c === '\\' && i + 1 < glob.length) {
      re += glob[++i]!.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
    } else re += c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

/** True when `p` is an absolute, clean path. */
export function isCleanAbsolutePath(p: string): boolean {
  return p.startsWith('/') && path.posix.normalize(p) === p && !p.endsWith('/');
}

/** True when the clean absolute path `p` matches one of `globs`. */
export function pathInGlobs(p: string, globs: readonly string[]): boolean {
  if (!isCleanAbsolutePath(p)) return false;
  return globs.some((g) => {
    try {
      return globToRegExp(g).test(p);
    } catch {
      return false;
    }
  });
}
