import { describe, it, expect } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { parseAptShow, readModInfo, sharedLibrariesOf, uuidFromHex } from '../../../src/guest-image/index.js';

const haveLdd = spawnSync('ldd', ['--version']).status === 0;
if (!haveLdd) console.warn('guest-image ldd test skipped: ldd (libc-bin) not installed');

describe('apt metadata and module parsing', () => {
  it('parses apt-cache show: package, version, SHA256 and the names in Depends', () => {
    const text = [
      'Package: linux-image-cloud-amd64',
      'Source: linux-signed-amd64 (6.1.192+2)',
      'Version: 6.1.192-2',
      'Architecture: amd64',
      'Depends: linux-image-6.1.0-56-cloud-amd64 (= 6.1.192-2), foo | bar',
      'Description: Linux for x86-64 cloud (meta-package)',
      ' continued description',
      'SHA256: 3b5f0e7c',
      '',
      'Package: linux-image-cloud-amd64',
      'Version: 6.1.99-1',
    ].join('\n');
    const info = parseAptShow(text, 'linux-image-cloud-amd64');
    expect(info).toEqual({
      package: 'linux-image-cloud-amd64',
      version: '6.1.192-2',
      architecture: 'amd64',
      sha256: '3b5f0e7c',
      depends: ['linux-image-6.1.0-56-cloud-amd64', 'foo'],
    });
    expect(() => parseAptShow('N: Unable to locate package x\n', 'x')).toThrow(/apt-cache show x: no Package\/Version/);
  });

  it('refuses files that are not ELF64 kernel modules, naming the file', () => {
    expect(() =>
      readModInfo(Buffer.from('not an elf at all, definitely not; padding padding padding padding'), 'x.ko'),
    ).toThrow(/kernel module x\.ko: not an ELF file/);
    const elf32 = Buffer.alloc(64);
    elf32.writeUInt32BE(0x7f454c46, 0);
    elf32[4] = 1;
    expect(() => readModInfo(elf32, 'y.ko')).toThrow(/y\.ko: not ELF64/);
  });

  it.skipIf(!haveLdd)('lists the shared libraries of a dynamic binary (node) and none for a static one', async () => {
    const libs = await sharedLibrariesOf(process.execPath);
    expect(libs.every((l) => l.startsWith('/'))).toBe(true);
    expect(libs.some((l) => /\/libc\.so\.6$/.test(l))).toBe(true);
    if (
      existsSync('/bin/busybox') &&
      spawnSync('ldd', ['/bin/busybox'], { encoding: 'utf8' }).stdout.includes('not a dynamic')
    ) {
      expect(await sharedLibrariesOf('/bin/busybox')).toEqual([]);
    }
    await expect(sharedLibrariesOf('/nonexistent/binary')).rejects.toThrow(/ldd/);
  });

  it('derives a stable RFC 4122-shaped filesystem UUID from the cache key', () => {
    expect(uuidFromHex('0123456789abcdef0123456789abcdef')).toBe('01234567-89ab-4def-8123-456789abcdef');
    expect(uuidFromHex('ff'.repeat(32))).toBe(uuidFromHex('ff'.repeat(32)));
  });
});
