/**
 * Reads the `.modinfo` section of a Linux kernel module (an ELF64 little-endian relocatable object): NUL-separated
 * `key=value` strings such as `depends=virtio,virtio_ring`, `name=virtio_pci`, `softdep=pre: crc32c`.
 */

export interface ModInfo {
  /** All values per key, in file order (keys like `alias` repeat). */
  fields: Map<string, string[]>;
  name?: string;
  /** Hard dependencies (module names), from `depends=`. */
  depends: string[];
  /** `softdep=pre: a b post: c` pre-dependencies, which modprobe loads first when present. */
  softPre: string[];
}

function fail(what: string, file: string): never {
  throw new Error(`kernel module ${file}: ${what} (expected an ELF64 little-endian .ko)`);
}

export function readModInfo(buf: Buffer, file = '<buffer>'): ModInfo {
  if (buf.length < 64 || buf.readUInt32BE(0) !== 0x7f454c46) fail('not an ELF file', file);
  if (buf[4] !== 2) fail('not ELF64', file);
  if (buf[5] !== 1) fail('not little-endian', file);
  const shoff = Number(buf.readBigUInt64LE(0x28));
  const shentsize = buf.readUInt16LE(0x3a);
  const shnum = buf.readUInt16LE(0x3c);
  const shstrndx = buf.readUInt16LE(0x3e);
  if (shentsize < 64 || shoff + shnum * shentsize > buf.length || shstrndx >= shnum) fail('bad section headers', file);
  const section = (i: number) => {
    const o = shoff + i * shentsize;
    return {
      name: buf.readUInt32LE(o),
      offset: Number(buf.readBigUInt64LE(o + 0x18)),
      size: Number(buf.readBigUInt64LE(o + 0x20)),
    };
  };
  const strtab = section(shstrndx);
  const secName = (off: number) => {
    const start = strtab.offset + off;
    const end = buf.indexOf(0, start);
    return buf.toString('latin1', start, end < 0 ? start : end);
  };
  let data: Buffer | undefined;
  for (let i = 0; i < shnum; i++) {
    const s = section(i);
    if (secName(s.name) === '.modinfo') {
      if (s.offset + s.size > buf.length) fail('.modinfo section runs past the end of the file', file);
      data = buf.subarray(s.offset, s.offset + s.size);
      break;
    }
  }
  if (!data) fail('no .modinfo section', file);
  const fields = new Map<string, string[]>();
  for (const s of data.toString('utf8').split('\0')) {
    const eq = s.indexOf('=');
    if (eq <= 0) continue;
    const k = s.slice(0, eq);
    const list = fields.get(k) ?? [];
    list.push(s.slice(eq + 1));
    fields.set(k, list);
  }
  const depends = (fields.get('depends')?.[0] ?? '')
    .split(',')
    .map((d) => d.trim())
    .filter(Boolean);
  const softPre: string[] = [];
  for (const sd of fields.get('softdep') ?? []) {
    const m = /pre:\s*([^:]*?)(?:\s+post:.*)?$/.exec(sd);
    if (m?.[1]) softPre.push(...m[1].split(/\s+/).filter(Boolean));
  }
  return { fields, name: fields.get('name')?.[0], depends, softPre };
}
