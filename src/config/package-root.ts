/**
 * The ccgpu package root (the directory holding ccgpu's package.json), found from this module's location so it
 * works both from `src/` (tsx, vitest) and from `dist/src/` (built).
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

let cached: string | undefined;

export function packageRoot(): string {
  if (cached) return cached;
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pj = path.join(dir, 'package.json');
    if (existsSync(pj)) {
      try {
        const name = (JSON.parse(readFileSync(pj, 'utf8')) as { name?: unknown }).name;
        if (name === 'ccgpu') return (cached = dir);
      } catch {
        // not ours; keep walking up
      }
    }
    const up = path.dirname(dir);
    if (up === dir) throw new Error(`cannot find the ccgpu package root above ${fileURLToPath(import.meta.url)}`);
    dir = up;
  }
}
