/** Where built guest images and downloaded packages are kept: $CCGPU_CACHE_DIR, else ~/.cache/ccgpu/guest. */
import os from 'node:os';
import path from 'node:path';

export function defaultCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.CCGPU_CACHE_DIR) return path.resolve(env.CCGPU_CACHE_DIR);
  const xdg = env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
  return path.join(xdg, 'ccgpu', 'guest');
}
