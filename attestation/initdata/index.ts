/**
 * Kata / Confidential Containers initdata.
 *
 * - The pod annotation `io.katacontainers.config.hypervisor.cc_init_data` carries base64(gzip(TOML)).
 * - The TOML has `version`, `algorithm` (sha256 | sha384 | sha512) and a `[data]` table of file name → text
 *   (`aa.toml`, `cdh.toml`, `policy.rego`, ...).
 * - The digest is the named hash over the exact TOML bytes (no canonicalization).
 * - The host hands it to the guest on a block device: 8-byte magic `initdata`, u64 LE length of the gzip payload,
 *   the gzip payload, zero padding up to a multiple of 512 bytes.
 * - The digest is bound to the hardware: SNP `host_data` (32 bytes) and TDX `mr_config_id` (48 bytes), "fitted"
 *   with `resizeDigest` (zero-pad or truncate at the end).
 *
 * Dependency-light on purpose: host (QEMU command line) and guest (agent) both use it.
 */
import { createHash } from 'node:crypto';
import { gunzipSync, gzipSync } from 'node:zlib';
import { parse as parseToml } from 'smol-toml';

export const INITDATA_ANNOTATION = 'io.katacontainers.config.hypervisor.cc_init_data';
export const INITDATA_MAGIC = Buffer.from('initdata', 'ascii');
export const INITDATA_HEADER_SIZE = 16;
export const INITDATA_SECTOR_SIZE = 512;
/** Upper bound on the decompressed TOML (guards against gzip bombs). */
export const INITDATA_MAX_TOML_BYTES = 4 * 1024 * 1024;

export const INITDATA_ALGORITHMS = ['sha256', 'sha384', 'sha512'] as const;
export type InitdataAlgorithm = (typeof INITDATA_ALGORITHMS)[number];

export interface Initdata {
  version: string;
  algorithm: InitdataAlgorithm;
  /** The `[data]` table: file name → content. */
  data: Record<string, string>;
  /** The exact TOML bytes the digest is computed over. */
  toml: Buffer;
  /** `algorithm` hash of `toml` (32, 48 or 64 bytes). */
  digest: Buffer;
}

/** Any malformed initdata (annotation, TOML, image). `field` names what was wrong. */
export class InitdataError extends Error {
  constructor(
    message: string,
    readonly field?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'InitdataError';
  }
}

const BASE64_RE = /^[A-Za-z0-9+/]*={0,2}$/;

function isAlgorithm(x: unknown): x is InitdataAlgorithm {
  return typeof x === 'string' && (INITDATA_ALGORITHMS as readonly string[]).includes(x);
}

/** The digest of `toml` with `algorithm`. */
export function initdataDigest(toml: Buffer | string, algorithm: InitdataAlgorithm): Buffer {
  if (!isAlgorithm(algorithm))
    throw new InitdataError(`initdata: unsupported algorithm ${JSON.stringify(algorithm)}`, 'algorithm');
  return createHash(algorithm)
    .update(typeof toml === 'string' ? Buffer.from(toml, 'utf8') : toml)
    .digest();
}

/** Parse initdata TOML text/bytes, validate it and compute its digest. */
export function parseInitdataToml(toml: Buffer | string): Initdata {
  const bytes = typeof toml === 'string' ? Buffer.from(toml, 'utf8') : Buffer.from(toml);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch (e) {
    throw new InitdataError('initdata: TOML is not valid UTF-8', 'toml', { cause: e });
  }
  let doc: Record<string, unknown>;
  try {
    doc = parseToml(text) as Record<string, unknown>;
  } catch (e) {
    throw new InitdataError(`initdata: invalid TOML: ${(e as Error).message.split('\n')[0]}`, 'toml', { cause: e });
  }
  const version = doc.version;
  if (typeof version !== 'string' || version.length === 0) {
    throw new InitdataError('initdata: `version` must be a non-empty string (e.g. "0.1.0")', 'version');
  }
  const algorithm = doc.algorithm;
  if (!isAlgorithm(algorithm)) {
    throw new InitdataError(
      `initdata: \`algorithm\` must be one of ${INITDATA_ALGORITHMS.join(', ')}, got ${JSON.stringify(algorithm ?? null)}`,
      'algorithm',
    );
  }
  const data: Record<string, string> = {};
  if (doc.data !== undefined) {
    if (typeof doc.data !== 'object' || doc.data === null || Array.isArray(doc.data)) {
      throw new InitdataError('initdata: `data` must be a table of file name = string', 'data');
    }
    for (const [k, v] of Object.entries(doc.data as Record<string, unknown>)) {
      if (typeof v !== 'string')
        throw new InitdataError(`initdata: data."${k}" must be a string, got ${typeof v}`, `data.${k}`);
      data[k] = v;
    }
  }
  return { version, algorithm, data, toml: bytes, digest: initdataDigest(bytes, algorithm) };
}

function gunzipBounded(buf: Buffer, field: string): Buffer {
  try {
    return gunzipSync(buf, { maxOutputLength: INITDATA_MAX_TOML_BYTES });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ERR_BUFFER_TOO_LARGE') {
      throw new InitdataError(`initdata: decompressed TOML exceeds ${INITDATA_MAX_TOML_BYTES} bytes`, field, {
        cause: e,
      });
    }
    throw new InitdataError(`initdata: ${field} is not valid gzip data`, field, { cause: e });
  }
}

/** Decode the `cc_init_data` annotation value: base64 → gunzip → TOML. */
export function decodeInitdataAnnotation(value: string): Initdata {
  if (typeof value !== 'string') throw new InitdataError('initdata: annotation value must be a string', 'annotation');
  const v = value.replace(/\s+/g, '');
  if (v.length === 0) throw new InitdataError(`initdata: annotation ${INITDATA_ANNOTATION} is empty`, 'annotation');
  if (!BASE64_RE.test(v) || v.length % 4 === 1) {
    throw new InitdataError(`initdata: annotation ${INITDATA_ANNOTATION} is not standard base64`, 'annotation');
  }
  return parseInitdataToml(gunzipBounded(Buffer.from(v, 'base64'), 'annotation'));
}

/** Encode TOML as the annotation value (base64 of gzip). Validates the TOML first. */
export function encodeInitdataAnnotation(toml: string | Buffer): string {
  const bytes = typeof toml === 'string' ? Buffer.from(toml, 'utf8') : toml;
  parseInitdataToml(bytes);
  return gzipSync(bytes).toString('base64');
}

/** The block-device image: magic, u64 LE gzip length, gzip(TOML), zero padding to a multiple of 512. */
export function buildInitdataImage(initdata: Pick<Initdata, 'toml'>): Buffer {
  const gz = gzipSync(initdata.toml);
  const used = INITDATA_HEADER_SIZE + gz.length;
  const total = Math.ceil(used / INITDATA_SECTOR_SIZE) * INITDATA_SECTOR_SIZE;
  const img = Buffer.alloc(total);
  INITDATA_MAGIC.copy(img, 0);
  img.writeBigUInt64LE(BigInt(gz.length), 8);
  gz.copy(img, INITDATA_HEADER_SIZE);
  return img;
}

/** True when `buf` starts with the initdata magic (the agent scans block devices with this). */
export function hasInitdataMagic(buf: Buffer): boolean {
  return buf.length >= INITDATA_MAGIC.length && buf.subarray(0, INITDATA_MAGIC.length).equals(INITDATA_MAGIC);
}

/** Parse a block-device image built by `buildInitdataImage` (or Kata's shim). */
export function parseInitdataImage(buf: Buffer): Initdata {
  if (buf.length < INITDATA_HEADER_SIZE) {
    throw new InitdataError(`initdata image: ${buf.length} bytes is shorter than the 16-byte header`, 'image');
  }
  if (!hasInitdataMagic(buf)) throw new InitdataError('initdata image: missing "initdata" magic', 'image.magic');
  const len = buf.readBigUInt64LE(8);
  if (len === 0n) throw new InitdataError('initdata image: payload length is 0', 'image.length');
  if (len > BigInt(buf.length - INITDATA_HEADER_SIZE)) {
    throw new InitdataError(
      `initdata image: payload length ${len} exceeds the ${buf.length - INITDATA_HEADER_SIZE} bytes after the header`,
      'image.length',
    );
  }
  const gz = buf.subarray(INITDATA_HEADER_SIZE, INITDATA_HEADER_SIZE + Number(len));
  return parseInitdataToml(gunzipBounded(gz, 'image.payload'));
}

/** Fit a digest to `len` bytes: zero-pad at the end when shorter, truncate at the end when longer. */
export function resizeDigest(digest: Buffer | Uint8Array, len: number): Buffer {
  if (!Number.isInteger(len) || len < 0) throw new InitdataError(`resizeDigest: invalid length ${len}`, 'length');
  const out = Buffer.alloc(len);
  Buffer.from(digest.buffer, digest.byteOffset, Math.min(digest.byteLength, len)).copy(out);
  return out;
}

/** SNP `host_data` size and TDX `mr_config_id` size. */
export const SNP_HOST_DATA_SIZE = 32;
export const TDX_MR_CONFIG_ID_SIZE = 48;

/** The value QEMU needs: base64 of the digest fitted to the TEE's field (`host-data` / `mrconfigid`). */
export function initdataHardwareBinding(digest: Buffer, tee: 'snp' | 'tdx'): Buffer {
  return resizeDigest(digest, tee === 'snp' ? SNP_HOST_DATA_SIZE : TDX_MR_CONFIG_ID_SIZE);
}
