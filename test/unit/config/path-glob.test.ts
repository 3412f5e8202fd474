import { describe, expect, it } from 'vitest';
import { globToRegExp, isCleanAbsolutePath, pathInGlobs } from '../../../src/config/path-glob.js';
import { closestKey, editDistance } from '../../../src/config/suggest.js';

describe('allow-list globs', () => {
  it('*, ? and [...] never cross a slash', () => {
    expect(globToRegExp('/opt/*/qemu').test('/opt/ccgpu/qemu')).toBe(true);
    expect(globToRegExp('/opt/*/qemu').test('/opt/a/b/qemu')).toBe(false);
    expect(globToRegExp('/dev/?random').test('/dev/urandom')).toBe(true);
    expect(globToRegExp('/dev/?random').test('/dev/random')).toBe(false);
    expect(globToRegExp('/bin/qemu-[st]dx').test('/bin/qemu-tdx')).toBe(true);
    expect(globToRegExp('/bin/qemu-[!s]dx').test('/bin/qemu-sdx')).toBe(false);
    expect(globToRegExp('/a.b').test('/aXb')).toBe(false);
  });

  it('only clean absolute paths can match', () => {
    expect(isCleanAbsolutePath('/opt/ccgpu/bin/qemu')).toBe(true);
    for (const p of ['opt/x', '/opt/../x', '/opt/./x', '/opt//x', '/opt/x/'])
      expect(isCleanAbsolutePath(p), p).toBe(false);
    expect(pathInGlobs('/opt/ccgpu/bin/..', ['/opt/ccgpu/bin/*'])).toBe(false);
    expect(pathInGlobs('/opt/ccgpu/bin/qemu', ['/opt/ccgpu/bin/*'])).toBe(true);
    expect(pathInGlobs('/opt/ccgpu/bin/qemu', [])).toBe(false);
  });
});

describe('closest key', () => {
  it('suggests near misses only', () => {
    expect(editDistance('kitten', 'sitting')).toBe(3);
    expect(closestKey('defualt_memory', ['default_memory', 'default_vcpus'])).toBe('default_memory');
    expect(closestKey('zzz', ['default_memory'])).toBeUndefined();
  });
});
