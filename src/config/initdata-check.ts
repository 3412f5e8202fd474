/**
 * A light structural check of the initdata annotation (`io.katacontainers.config.hypervisor.cc_init_data`):
 * base64 → gzip → TOML with a supported `algorithm`. Decoding, digests and the initdata image belong to
 * `attestation/initdata`; this only makes a bad annotation fail sandbox creation with a clear error (Kata's Go
 * runtime panics on an unknown algorithm).
 */
import { gunzipSync } from 'node:zlib';
import { parse, TomlError } from 'smol-toml';
import { ConfigError, errorMessage } from '../errors/index.js';

export const INITDATA_ANNOTATION = 'io.katacontainers.config.hypervisor.cc_init_data';
export const INITDATA_ALGORITHMS = ['sha256', 'sha384', 'sha512'] as const;
/** Bound on the decompressed TOML (a gzip bomb must not exhaust the shim). */
const MAX_TOML_BYTES = 4 * 1024 * 1024;
const BASE64_RE = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

export interface InitdataSummary {
  algorithm: (typeof INITDATA_ALGORITHMS)[number];
  version: string;
  /** Size of the decompressed TOML. */
  tomlBytes: number;
}

export function checkInitdataAnnotation(value: string, annotation = INITDATA_ANNOTATION): InitdataSummary {
  const bad = (msg: string, cause?: unknown): never => {
    throw new ConfigError(`annotation ${annotation}: ${msg}`, { annotation }, cause);
  };
  const compact = value.replace(/\s+/g, '');
  if (!BASE64_RE.test(compact)) bad('initdata must be standard base64 of a gzip-compressed TOML document');
  let toml: Buffer;
  try {
    toml = gunzipSync(Buffer.from(compact, 'base64'), { maxOutputLength: MAX_TOML_BYTES });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return bad(
      code === 'ERR_BUFFER_TOO_LARGE'
        ? `initdata decompresses to more than ${MAX_TOML_BYTES} bytes`
        : `initdata is not gzip-compressed data (${errorMessage(e)})`,
      e,
    );
  }
  let doc: Record<string, unknown>;
  try {
    doc = parse(toml.toString('utf8'));
  } catch (e) {
    const where = e instanceof TomlError ? ` at line ${e.line}, column ${e.column}` : '';
    return bad(`initdata is not valid TOML${where}: ${(errorMessage(e).split('\n')[0] ?? '').trim()}`, e);
  }
  const { algorithm, version, data } = doc;
  if (typeof version !== 'string') bad('initdata has no string `version`');
  if (typeof algorithm !== 'string' || !(INITDATA_ALGORITHMS as readonly string[]).includes(algorithm)) {
    bad(
      `initdata algorithm ${algorithm === undefined ? '(missing)' : JSON.stringify(algorithm)} is not supported; expected one of ${INITDATA_ALGORITHMS.map((a) => JSON.stringify(a)).join(', ')}`,
    );
  }
  if (data !== undefined && (typeof data !== 'object' || data === null || Array.isArray(data))) {
    bad('initdata `data` must be a table');
  }
  return { algorithm: algorithm as InitdataSummary['algorithm'], version: version as string, tomlBytes: toml.length };
}
