/**
 * The guest filesystem being assembled: an in-memory map from absolute guest path to entry. Parent directories are
 * added implicitly; entries come out sorted by path so archives and images do not depend on insertion order. The
 * same tree is written as a cpio (initramfs) or staged into a directory (rootfs image).
 */
import { createHash } from 'node:crypto';
import { mkdir, writeFile, symlink, chmod, utimes, lutimes } from 'node:fs/promises';
import path from 'node:path';
import type { CpioEntry } from './cpio-newc.js';

export class GuestTree {
  private readonly entries = new Map<string, CpioEntry>();

  private norm(p: string): string {
    const n = path.posix.normalize('/' + p);
    if (n === '/') throw new Error(`guest tree: "${p}" is the root, expected a path below it`);
    return n.replace(/\/+$/, '');
  }

  private ensureParents(p: string): void {
    const dir = path.posix.dirname(p);
    if (dir === '/') return;
    const existing = this.entries.get(dir);
    if (existing && existing.type !== 'dir') {
      throw new Error(`guest tree: cannot create "${p}": parent "${dir}" is a ${existing.type}`);
    }
    if (!existing) {
      this.ensureParents(dir);
      this.entries.set(dir, { type: 'dir', path: dir, mode: 0o755 });
    }
  }

  private put(e: CpioEntry): void {
    const p = this.norm(e.path);
    const existing = this.entries.get(p);
    if (existing && !(existing.type === 'dir' && e.type === 'dir')) {
      if (existing.type === 'file' && e.type === 'file' && existing.data.equals(e.data) && existing.mode === e.mode)
        return;
      throw new Error(`guest tree: "${p}" added twice (already a ${existing.type})`);
    }
    this.ensureParents(p);
    this.entries.set(p, { ...e, path: p });
  }

  dir(p: string, mode = 0o755): this {
    this.put({ type: 'dir', path: p, mode });
    return this;
  }

  file(p: string, data: Buffer | string, mode = 0o644): this {
    this.put({ type: 'file', path: p, mode, data: typeof data === 'string' ? Buffer.from(data, 'utf8') : data });
    return this;
  }

  symlink(p: string, target: string): this {
    this.put({ type: 'symlink', path: p, target });
    return this;
  }

  chardev(p: string, major: number, minor: number, mode = 0o600): this {
    this.put({ type: 'chardev', path: p, mode, major, minor });
    return this;
  }

  has(p: string): boolean {
    return this.entries.has(this.norm(p));
  }

  get(p: string): CpioEntry | undefined {
    return this.entries.get(this.norm(p));
  }

  /** Sorted by path (byte order), so parents always precede their children. */
  sorted(): CpioEntry[] {
    return [...this.entries.values()].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  }

  /** Total size of file data, for logs and image sizing. */
  dataBytes(): number {
    let n = 0;
    for (const e of this.entries.values()) if (e.type === 'file') n += e.data.length;
    return n;
  }

  /** sha256 over the listing (path, type, mode, content hash), for the manifest. */
  digest(): string {
    const h = createHash('sha256');
    for (const e of this.sorted()) {
      h.update(`${e.type} ${e.path} `);
      if (e.type === 'file') h.update(`${e.mode.toString(8)} ${createHash('sha256').update(e.data).digest('hex')}`);
      else if (e.type === 'dir') h.update(e.mode.toString(8));
      else if (e.type === 'symlink') h.update(e.target);
      else h.update(`${e.mode.toString(8)} ${e.major}:${e.minor}`);
      h.update('\n');
    }
    return h.digest('hex');
  }

  /**
   * Writes the tree below `root` (which must be empty or absent) for mkfs tools. Device nodes are skipped (the
   * rootfs images get /dev from devtmpfs); every timestamp is set to `mtime`.
   */
  async stage(root: string, mtime: number): Promise<void> {
    await mkdir(root, { recursive: true });
    const dirs: string[] = [];
    for (const e of this.sorted()) {
      const dest = path.join(root, e.path);
      if (e.type === 'dir') {
        await mkdir(dest, { recursive: true });
        await chmod(dest, e.mode);
        dirs.push(dest);
      } else if (e.type === 'file') {
        await writeFile(dest, e.data, { mode: e.mode });
        await chmod(dest, e.mode);
        await utimes(dest, mtime, mtime);
      } else if (e.type === 'symlink') {
        await symlink(e.target, dest);
        await lutimes(dest, mtime, mtime);
      }
    }
    for (const d of dirs.reverse()) await utimes(d, mtime, mtime);
    await utimes(root, mtime, mtime);
  }
}
