/**
 * KBS resources on disk: `<root>/<repository>/<type>/<tag>`, files 0600 in 0700 directories, written atomically
 * (temporary file, fsync, rename). Path segments are validated so nothing escapes the root.
 */
import { promises as fs } from 'node:fs';
import { randomBytes } from 'node:crypto';
import path from 'node:path';

const SEGMENT = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

export class ResourcePathError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ResourcePathError';
  }
}

/** Validate `[repository, type, tag]`. */
export function validateResourcePath(parts: string[]): [string, string, string] {
  if (parts.length !== 3) {
    throw new ResourcePathError(`resource path must be <repository>/<type>/<tag>, got ${parts.length} segment(s)`);
  }
  for (const p of parts) {
    if (!SEGMENT.test(p) || p.includes('..')) {
      throw new ResourcePathError(`resource path segment ${JSON.stringify(p)} must match [A-Za-z0-9][A-Za-z0-9._-]*`);
    }
  }
  return parts as [string, string, string];
}

export class ResourceStore {
  constructor(readonly root: string) {}

  private file(parts: string[]): string {
    const [r, t, g] = validateResourcePath(parts);
    return path.join(this.root, r, t, g);
  }

  async get(parts: string[]): Promise<Buffer | undefined> {
    try {
      return await fs.readFile(this.file(parts));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw e;
    }
  }

  async set(parts: string[], value: Buffer): Promise<void> {
    const file = this.file(parts);
    const dir = path.dirname(file);
    await fs.mkdir(dir, { recursive: true, mode: 0o700 });
    const tmp = path.join(dir, `.${path.basename(file)}.${randomBytes(6).toString('hex')}.tmp`);
    const fh = await fs.open(tmp, 'wx', 0o600);
    try {
      await fh.writeFile(value);
      await fh.sync();
    } finally {
      await fh.close();
    }
    try {
      await fs.chmod(tmp, 0o600); // umask cannot widen it, but be explicit
      await fs.rename(tmp, file);
    } catch (e) {
      await fs.rm(tmp, { force: true });
      throw e;
    }
  }

  async delete(parts: string[]): Promise<boolean> {
    try {
      await fs.unlink(this.file(parts));
      return true;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw e;
    }
  }
}
