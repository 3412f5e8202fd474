/** The ccgpu package root (where configs/ and policy/ live), from source (src/demo) or a build (dist/src/demo). */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export function findPackageRoot(from = path.dirname(fileURLToPath(import.meta.url))): string {
  let dir = from;
  for (;;) {
    const pj = path.join(dir, 'package.json');
    if (existsSync(pj) && existsSync(path.join(dir, 'configs'))) {
      try {
        if ((JSON.parse(readFileSync(pj, 'utf8')) as { name?: string }).name === 'ccgpu') return dir;
      } catch {
        // not ours; keep looking
      }
    }
    const up = path.dirname(dir);
    if (up === dir)
      throw new Error(`cannot find the ccgpu package root (package.json named "ccgpu" with configs/) above ${from}`);
    dir = up;
  }
}
