import { describe, it, expect } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { cpioNewc, GuestTree } from '../../../src/guest-image/index.js';

const haveCpio = spawnSync('cpio', ['--version']).status === 0;
if (!haveCpio)
  console.warn('guest-image cpio tests: GNU cpio not installed (Debian package "cpio"); cross-checks skipped');

describe('cpio newc writer', () => {
  it('writes the exact newc bytes for a directory, a file and the trailer (golden)', () => {
    const out = cpioNewc([
      { type: 'dir', path: '/bin', mode: 0o755 },
      { type: 'file', path: '/bin/hi', mode: 0o755, data: Buffer.from('hey\n') },
    ]);
    const golden =
      // dir "bin": ino 1, mode 040755, nlink 2, namesize 4 (110 + 4 = 114 -> pad 2)
      '070701' +
      '00000001' +
      '000041ed' +
      '00000000' +
      '00000000' +
      '00000002' +
      '00000000' +
      '00000000' +
      '00000000' +
      '00000000' +
      '00000000' +
      '00000000' +
      '00000004' +
      '00000000' +
      'bin\0' +
      '\0\0' +
      // file "bin/hi": ino 2, mode 0100755, size 4, namesize 7 (110 + 7 = 117 -> pad 3)
      '070701' +
      '00000002' +
      '000081ed' +
      '00000000' +
      '00000000' +
      '00000001' +
      '00000000' +
      '00000004' +
      '00000000' +
      '00000000' +
      '00000000' +
      '00000000' +
      '00000007' +
      '00000000' +
      'bin/hi\0' +
      '\0\0\0' +
      'hey\n' +
      // trailer: namesize 11 (110 + 11 = 121 -> pad 3)
      '070701' +
      '00000000' +
      '00000000' +
      '00000000' +
      '00000000' +
      '00000001' +
      '00000000' +
      '00000000' +
      '00000000' +
      '00000000' +
      '00000000' +
      '00000000' +
      '0000000b' +
      '00000000' +
      'TRAILER!!!\0' +
      '\0\0\0';
    expect(out.toString('latin1')).toBe(golden);
  });

  it('pads data to 4 bytes, stores symlink targets as data and device numbers in rdev', () => {
    const out = cpioNewc([
      { type: 'file', path: 'a', mode: 0o644, data: Buffer.from('12345') },
      { type: 'symlink', path: 'l', target: 'a' },
      { type: 'chardev', path: 'c', mode: 0o600, major: 5, minor: 1 },
    ]);
    // entry 1: 110 + "a\0" (2) -> 112; data 5 -> pad 3 => 120 bytes
    expect(out.subarray(112, 117).toString()).toBe('12345');
    expect(out.subarray(117, 120)).toEqual(Buffer.alloc(3));
    const second = out.subarray(120);
    expect(second.toString('latin1', 14, 22)).toBe('0000a1ff'); // S_IFLNK | 0777
    expect(second.toString('latin1', 54, 62)).toBe('00000001'); // filesize = len("a")
    const third = second.subarray(112 + 4);
    expect(third.toString('latin1', 14, 22)).toBe('00002180'); // S_IFCHR | 0600
    expect(third.toString('latin1', 78, 86)).toBe('00000005'); // rdevmajor
    expect(third.toString('latin1', 86, 94)).toBe('00000001'); // rdevminor
  });

  it('applies one mtime to all entries and rejects unsafe names', () => {
    const out = cpioNewc([{ type: 'dir', path: 'x', mode: 0o755 }], 1700000000);
    expect(out.toString('latin1', 46, 54)).toBe((1700000000).toString(16).padStart(8, '0'));
    expect(() => cpioNewc([{ type: 'dir', path: '../etc', mode: 0o755 }])).toThrow(/invalid entry path/);
    expect(() => cpioNewc([{ type: 'dir', path: '/', mode: 0o755 }])).toThrow(/invalid entry path/);
  });

  it('GuestTree adds parents, sorts entries and refuses conflicting duplicates', () => {
    const t = new GuestTree();
    t.file('/usr/bin/node', 'x', 0o755).symlink('/bin/sh', 'busybox').file('/bin/busybox', 'b', 0o755);
    expect(t.sorted().map((e) => e.path)).toEqual([
      '/bin',
      '/bin/busybox',
      '/bin/sh',
      '/usr',
      '/usr/bin',
      '/usr/bin/node',
    ]);
    t.file('/usr/bin/node', 'x', 0o755); // identical re-add is fine (shared libraries of two binaries)
    expect(() => t.file('/usr/bin/node', 'y', 0o755)).toThrow(/added twice/);
    expect(() => t.file('/bin/sh/x', 'y')).toThrow(/parent "\/bin\/sh" is a symlink/);
  });

  it.skipIf(!haveCpio)('GNU cpio lists and extracts what we write (independent reader)', () => {
    const t = new GuestTree();
    t.file('/etc/motd', 'hello\n')
      .file('/bin/tool', Buffer.from([0, 1, 2, 3, 4, 5, 6]), 0o755)
      .symlink('/bin/alias', 'tool');
    const archive = cpioNewc(t.sorted(), 86400);
    const dir = mkdtempSync(path.join(os.tmpdir(), 'ccgpu-cpio-'));
    try {
      writeFileSync(path.join(dir, 'a.cpio'), archive);
      const list = spawnSync('cpio', ['-it', '--quiet', '-F', path.join(dir, 'a.cpio')], { encoding: 'utf8' });
      expect(list.status).toBe(0);
      expect(list.stdout.trim().split('\n')).toEqual(['bin', 'bin/alias', 'bin/tool', 'etc', 'etc/motd']);
      const x = spawnSync('cpio', ['-id', '--quiet', '--no-absolute-filenames', '-F', path.join(dir, 'a.cpio')], {
        cwd: dir,
        encoding: 'utf8',
      });
      expect(x.status, x.stderr).toBe(0);
      expect(readFileSync(path.join(dir, 'etc/motd'), 'utf8')).toBe('hello\n');
      expect(readFileSync(path.join(dir, 'bin/tool'))).toEqual(Buffer.from([0, 1, 2, 3, 4, 5, 6]));
      expect(statSync(path.join(dir, 'bin/tool')).mode & 0o777).toBe(0o755);
      expect(readlinkSync(path.join(dir, 'bin/alias'))).toBe('tool');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
