/**
 * initdata block device parsing: 8-byte magic "initdata", little-endian u64 length, then that many bytes of
 * gzip-compressed TOML (`version = "0.1.0"`, `algorithm = "sha256" | "sha384" | "sha512"`, `[data]` with an
 * optional "policy.rego").
 */
import { gunzipSync } from 'node:zlib';
import { parse as parseToml } from 'smol-toml';

export const INITDATA_MAGIC = 'initdata';
const MAX_INITDATA = 64 * 1024 * 1024;

export interface InitData {
  version: string;
  algorithm: 'sha256' | 'sha384' | 'sha512';
  data: Record<string, string>;
  /** The decompressed TOML text (what the digest binds). */
  toml: string;
}

/** True when the bytes start with the initdata magic. */
export function hasInitdataMagic(bytes: Uint8Array): boolean {
  return bytes.length >= 8 && Buffer.from(bytes.subarray(0, 8)).toString('latin1') === INITDATA_MAGIC;
}

export function parseInitdataToml(toml: string, what = 'initdata'): InitData {
  let doc: Record<string, unknown>;
  try {
    doc = parseToml(toml) as Record<string, unknown>;
  } catch (e) {
    throw new Error(`${what}: invalid TOML: ${(e as Error).message}`);
  }
  if (doc.version !== '0.1.0')
    throw new Error(`${what}: field "version" must be "0.1.0", got ${JSON.stringify(doc.version ?? null)}`);
  const alg = doc.algorithm;
  if (alg !== 'sha256' && alg !== 'sha384' && alg !== 'sha512') {
    throw new Error(
      `${what}: field "algorithm" must be one of sha256, sha384, sha512, got ${JSON.stringify(alg ?? null)}`,
    );
  }
  const data: Record<string, string> = {};
  const raw = doc.data;
  if (raw !== undefined) {
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
      throw new Error(`${what}: [data] must be a table`);
    for (const [k, v] of Object.entries(raw)) {
      if (typeof v !== 'string') throw new Error(`${what}: data."${k}" must be a string`);
      data[k] = v;
    }
  }
  return { version: '0.1.0', algorithm: alg, data, toml };
}

/** Parses an initdata block device image. */
export function parseInitdataDevice(bytes: Uint8Array, what = 'initdata device'): InitData {
  if (!hasInitdataMagic(bytes)) throw new Error(`${what}: missing "initdata" magic`);
  if (bytes.length < 16) throw new Error(`${what}: truncated header (need 16 bytes, have ${bytes.length})`);
  const len = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).readBigUInt64LE(8);
  if (len > BigInt(MAX_INITDATA) || len > BigInt(bytes.length - 16)) {
    throw new Error(`${what}: declared length ${len} exceeds the ${bytes.length - 16} bytes available`);
  }
  const blob = bytes.subarray(16, 16 + Number(len));
  let toml: string;
  try {
    toml = gunzipSync(blob, { maxOutputLength: MAX_INITDATA }).toString('utf8');
  } catch (e) {
    throw new Error(`${what}: payload is not valid gzip: ${(e as Error).message}`);
  }
  return parseInitdataToml(toml, what);
}
