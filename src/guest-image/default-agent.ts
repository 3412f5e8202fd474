/**
 * Defaults found in this checkout: the real guest agent's entry point (src/agent/main.ts) and the built native addon
 * (native/build/Release/ccgpu_native.node), when they exist.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The ccgpu package root: the nearest ancestor of this module with a package.json named "ccgpu". */
export function packageRoot(): string | undefined {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pj = path.join(dir, 'package.json');
    if (existsSync(pj)) {
      try {
        if ((JSON.parse(readFileSync(pj, 'utf8')) as { name?: string }).name === 'ccgpu') return dir;
      } catch {
        // not ours; keep looking
      }
    }
    const up = path.dirname(dir);
    if (up === dir) return undefined;
    dir = up;
  }
}

export function defaultAgentEntry(): string | undefined {
  const root = packageRoot();
  if (!root) return undefined;
  const entry = path.join(root, 'src/agent/main.ts');
  return existsSync(entry) ? entry : undefined;
}

/** The native addon built by `npm install` (node-gyp), if it exists. */
export function defaultNativeAddon(): string | undefined {
  const root = packageRoot();
  if (!root) return undefined;
  const addon = path.join(root, 'native/build/Release/ccgpu_native.node');
  return existsSync(addon) ? addon : undefined;
}
