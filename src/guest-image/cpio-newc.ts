/**
 * Deterministic writer for the cpio "newc" format (the only format the Linux initramfs unpacker reads).
 *
 * Layout of one entry: a 110-byte ASCII header ("070701" + 13 fields of 8 hex digits), the NUL-terminated name
 * padded to a multiple of 4 bytes (counting the header), then the data padded to a multiple of 4. The archive ends
 * with an entry named "TRAILER!!!". Everything that could vary between hosts is fixed here: entries are written in
 * the order given (the caller sorts), inode numbers are assigned sequentially, owners are 0:0, mtime is one value for
 * all entries, device numbers of the host are never read.
 */

export type CpioEntry =
  | { type: 'dir'; path: string; mode: number }
  | { type: 'file'; path: string; mode: number; data: Buffer }
  | { type: 'symlink'; path: string; target: string }
  | { type: 'chardev'; path: string; mode: number; major: number; minor: number };

const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
const S_IFLNK = 0o120000;
const S_IFCHR = 0o020000;
const MAGIC = '070701';
const TRAILER = 'TRAILER!!!';

function hex8(field: string, n: number): string {
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) {
    throw new RangeError(`cpio: ${field}=${n} does not fit the newc 32-bit field`);
  }
  return n.toString(16).padStart(8, '0');
}

function pad4(n: number): number {
  return (4 - (n % 4)) % 4;
}

interface RawEntry {
  name: string;
  mode: number;
  nlink: number;
  data: Buffer;
  rdevMajor: number;
  rdevMinor: number;
}

function header(e: RawEntry, ino: number, mtime: number): Buffer {
  const nameBytes = Buffer.from(e.name + '\0', 'utf8');
  const fields =
    MAGIC +
    hex8('ino', ino) +
    hex8('mode', e.mode) +
    hex8('uid', 0) +
    hex8('gid', 0) +
    hex8('nlink', e.nlink) +
    hex8('mtime', mtime) +
    hex8(`filesize of ${e.name}`, e.data.length) +
    hex8('devmajor', 0) +
    hex8('devminor', 0) +
    hex8('rdevmajor', e.rdevMajor) +
    hex8('rdevminor', e.rdevMinor) +
    hex8('namesize', nameBytes.length) +
    hex8('check', 0);
  const head = Buffer.from(fields, 'ascii');
  return Buffer.concat([head, nameBytes, Buffer.alloc(pad4(head.length + nameBytes.length))]);
}

/** Archive member name: relative, no leading "/" or "./", no empty or ".." components. */
export function cpioName(path: string): string {
  const name = path.replace(/^\/+/, '').replace(/^\.\//, '');
  if (name === '' || name.split('/').some((c) => c === '' || c === '.' || c === '..')) {
    throw new Error(`cpio: invalid entry path "${path}" (expected a normalised path such as "bin/busybox")`);
  }
  return name;
}

function toRaw(e: CpioEntry): RawEntry {
  const name = cpioName(e.path);
  switch (e.type) {
    case 'dir':
      return { name, mode: S_IFDIR | (e.mode & 0o7777), nlink: 2, data: Buffer.alloc(0), rdevMajor: 0, rdevMinor: 0 };
    case 'file':
      return { name, mode: S_IFREG | (e.mode & 0o7777), nlink: 1, data: e.data, rdevMajor: 0, rdevMinor: 0 };
    case 'symlink':
      return { name, mode: S_IFLNK | 0o777, nlink: 1, data: Buffer.from(e.target, 'utf8'), rdevMajor: 0, rdevMinor: 0 };
    case 'chardev':
      return {
        name,
        mode: S_IFCHR | (e.mode & 0o7777),
        nlink: 1,
        data: Buffer.alloc(0),
        rdevMajor: e.major,
        rdevMinor: e.minor,
      };
  }
}

/**
 * Yields the archive as chunks (so a 100 MB payload is not copied into one buffer). `mtime` is seconds since the
 * epoch, applied to every entry.
 */
export function* cpioNewcChunks(entries: readonly CpioEntry[], mtime = 0): Generator<Buffer> {
  let ino = 1;
  for (const e of entries) {
    const raw = toRaw(e);
    yield header(raw, ino++, mtime);
    if (raw.data.length > 0) {
      yield raw.data;
      const p = pad4(raw.data.length);
      if (p) yield Buffer.alloc(p);
    }
  }
  yield header({ name: TRAILER, mode: 0, nlink: 1, data: Buffer.alloc(0), rdevMajor: 0, rdevMinor: 0 }, 0, 0);
}

/** The whole archive in one buffer (small archives and tests). */
export function cpioNewc(entries: readonly CpioEntry[], mtime = 0): Buffer {
  return Buffer.concat([...cpioNewcChunks(entries, mtime)]);
}
