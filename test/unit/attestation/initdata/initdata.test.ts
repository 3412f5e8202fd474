import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import {
  buildInitdataImage,
  decodeInitdataAnnotation,
  encodeInitdataAnnotation,
  initdataHardwareBinding,
  InitdataError,
  parseInitdataImage,
  parseInitdataToml,
  resizeDigest,
} from '../../../../attestation/initdata/index.js';

const TOML256 = `version = "0.1.0"
algorithm = "sha256"

[data]
"aa.toml" = '''
[token_configs.kbs]
url = "http://127.0.0.1:8080"
'''
"policy.rego" = '''
package agent_policy
default AllowRequestsFailingPolicy := true
'''
`;
const TOML384 = TOML256.replace('sha256', 'sha384');

describe('initdata', () => {
  it('digest is the named hash of the exact TOML bytes', () => {
    const d = parseInitdataToml(TOML256);
    expect(d.version).toBe('0.1.0');
    expect(d.algorithm).toBe('sha256');
    expect(d.digest.toString('hex')).toBe(createHash('sha256').update(TOML256).digest('hex'));
    expect(Object.keys(d.data).sort()).toEqual(['aa.toml', 'policy.rego']);
    expect(d.data['aa.toml']).toContain('url = "http://127.0.0.1:8080"');
    // one extra space changes the digest (no canonicalization)
    expect(parseInitdataToml(TOML256 + ' ').digest.equals(d.digest)).toBe(false);
  });

  it('fits the digest to SNP host_data and TDX mr_config_id', () => {
    const d = parseInitdataToml(TOML256).digest;
    expect(initdataHardwareBinding(d, 'snp').equals(d)).toBe(true);
    const tdx = initdataHardwareBinding(d, 'tdx');
    expect(tdx.length).toBe(48);
    expect(tdx.subarray(0, 32).equals(d)).toBe(true);
    expect(tdx.subarray(32).equals(Buffer.alloc(16))).toBe(true);
    const d384 = parseInitdataToml(TOML384).digest;
    expect(d384.length).toBe(48);
    expect(initdataHardwareBinding(d384, 'snp').equals(d384.subarray(0, 32))).toBe(true);
    expect(resizeDigest(Buffer.from([1, 2, 3]), 2)).toEqual(Buffer.from([1, 2]));
    expect(resizeDigest(Buffer.from([1]), 3)).toEqual(Buffer.from([1, 0, 0]));
  });

  it('annotation is base64(gzip(toml)) and round-trips', () => {
    const a = encodeInitdataAnnotation(TOML384);
    const d = decodeInitdataAnnotation(a);
    expect(d.toml.toString()).toBe(TOML384);
    expect(d.digest.toString('hex')).toBe(createHash('sha384').update(TOML384).digest('hex'));
    // an annotation produced by another tool (plain gzip + base64) decodes the same
    expect(decodeInitdataAnnotation(gzipSync(Buffer.from(TOML384), { level: 1 }).toString('base64')).digest).toEqual(
      d.digest,
    );
  });

  it('block image: magic, u64 LE length, gzip, 512 padding', () => {
    const d = parseInitdataToml(TOML256);
    const img = buildInitdataImage(d);
    expect(img.subarray(0, 8).toString('ascii')).toBe('initdata');
    expect(img.length % 512).toBe(0);
    const len = Number(img.readBigUInt64LE(8));
    expect(img[16]).toBe(0x1f);
    expect(img[17]).toBe(0x8b);
    expect(img.subarray(16 + len).every((b) => b === 0)).toBe(true);
    const back = parseInitdataImage(img);
    expect(back.digest.equals(d.digest)).toBe(true);
    expect(back.data).toEqual(d.data);
  });

  it('rejects bad input with clear errors, never crashes', () => {
    expect(() => parseInitdataToml('version = "0.1.0"\nalgorithm = "md5"\n')).toThrow(
      /algorithm.*sha256, sha384, sha512.*"md5"/,
    );
    expect(() => parseInitdataToml('algorithm = "sha256"\n')).toThrow(/version/);
    expect(() => parseInitdataToml('version = "0.1.0"\nalgorithm = "sha256"\n[data]\nx = 1\n')).toThrow(
      /data\."x" must be a string/,
    );
    expect(() => parseInitdataToml('version = [')).toThrow(InitdataError);
    expect(() => decodeInitdataAnnotation('')).toThrow(/empty/);
    expect(() => decodeInitdataAnnotation('!!!')).toThrow(/base64/);
    expect(() => decodeInitdataAnnotation(Buffer.from('not gzip').toString('base64'))).toThrow(/gzip/);
    const img = buildInitdataImage(parseInitdataToml(TOML256));
    const bad = Buffer.from(img);
    bad[0] = 0x58;
    expect(() => parseInitdataImage(bad)).toThrow(/magic/);
    const long = Buffer.from(img);
    long.writeBigUInt64LE(1n << 40n, 8);
    expect(() => parseInitdataImage(long)).toThrow(/exceeds/);
    expect(() => parseInitdataImage(Buffer.alloc(3))).toThrow(/header/);
    // gzip bomb is bounded
    const bomb = gzipSync(Buffer.alloc(8 * 1024 * 1024, 0x61)).toString('base64');
    expect(() => decodeInitdataAnnotation(bomb)).toThrow(/exceeds/);
    for (let i = 0; i < 200; i++) {
      const junk = Buffer.from(img.subarray(0, 16 + Math.floor(Math.random() * 200)));
      for (let j = 16; j < junk.length; j++) if (Math.random() < 0.05) junk[j] = Math.floor(Math.random() * 256);
      try {
        parseInitdataImage(junk);
      } catch (e) {
        expect(e).toBeInstanceOf(InitdataError);
      }
    }
  });
});
