/**
 * `config.d/*.toml` drop-ins beside the base file, applied in byte order of their names (later wins), like Kata.
 */
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { ConfigError, errorMessage } from '../errors/index.js';

export const DROP_IN_DIR = 'config.d';

/** Absolute paths of the drop-ins for `baseFile`, sorted; empty when there is no `config.d` directory. */
export function listDropIns(baseFile: string): string[] {
  const dir = path.join(path.dirname(path.resolve(baseFile)), DROP_IN_DIR);
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return [];
    throw new ConfigError(`cannot list drop-in directory ${dir}: ${errorMessage(e)}`, { file: dir }, e);
  }
  return names
    .filter((n) => n.endsWith('.toml') && !n.startsWith('.'))
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
    .map((n) => path.join(dir, n))
    .filter((f) => {
      try {
        return statSync(f).isFile();
      } catch {
        return false;
      }
    });
}
