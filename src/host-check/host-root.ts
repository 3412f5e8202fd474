/**
 * The host as the checks see it: `/` in production, a fixture tree in tests (`--root DIR`), so /proc/cpuinfo, /sys,
 * /dev and the configured asset paths are all read below that directory.
 */
import fs from 'node:fs';
import path from 'node:path';

export class HostRoot {
  readonly dir: string;

  constructor(dir = '/') {
    this.dir = path.resolve(dir);
  }

  get isRealHost(): boolean {
    return this.dir === '/';
  }

  /** Where host path `p` (absolute, as the kernel or the config names it) is on this machine. */
  path(p: string): string {
    return this.isRealHost ? p : path.join(this.dir, path.resolve('/', p));
  }

  /** The file's text, trimmed, or undefined when it cannot be read. */
  read(p: string): string | undefined {
    try {
      return fs.readFileSync(this.path(p), 'utf8').trim();
    } catch {
      return undefined;
    }
  }

  exists(p: string): boolean {
    return fs.existsSync(this.path(p));
  }

  /** Directory entries, or undefined when the directory cannot be read. */
  list(p: string): string[] | undefined {
    try {
      return fs.readdirSync(this.path(p));
    } catch {
      return undefined;
    }
  }
}
