/**
 * Output encoding: policy text = rules + `policy_data := <JSON>`; initdata TOML (version 0.1.0, sha256,
 * `[data] "policy.rego"`) gzip'd and base64'd into `io.katacontainers.config.hypervisor.cc_init_data`;
 * or the legacy `io.katacontainers.config.agent.policy` = base64(policy text).
 */
import { gunzipSync, gzipSync } from 'node:zlib';
import { parse as parseToml, stringify as stringifyToml } from 'smol-toml';
import { GenpolicyError } from './errors.js';
import type { PolicyData } from './policy-types.js';

export const INITDATA_ANNOTATION = 'io.katacontainers.config.hypervisor.cc_init_data';
export const LEGACY_POLICY_ANNOTATION = 'io.katacontainers.config.agent.policy';
export const INITDATA_VERSION = '0.1.0';
export const POLICY_KEY = 'policy.rego';
const ALGORITHMS = new Set(['sha256', 'sha384', 'sha512']);

export function policyText(rules: string, data: PolicyData): string {
  return `${rules.endsWith('\n') ? rules : `${rules}\n`}\npolicy_data := ${JSON.stringify(data, null, 2)}\n`;
}

function tomlString(s: string): string {
  // multi-line literal when it can hold the text verbatim, else a basic string with escapes
  // eslint-disable-next-line no-control-regex
  if (!s.includes("'''") && !/[\u0000-\u0008\u000b-\u001f\u007f]/.test(s) && !s.endsWith("'")) return `'''\n${s}'''`;
  return stringifyToml({ v: s }).replace(/^v = /, '').trimEnd();
}

export interface InitdataDocument {
  version: string;
  algorithm: string;
  data: Record<string, string>;
}

export function parseInitdataToml(text: string, file = 'initdata'): InitdataDocument {
  let doc: Record<string, unknown>;
  try {
    doc = parseToml(text) as Record<string, unknown>;
  } catch (e) {
    throw new GenpolicyError(`${file} is not valid TOML: ${(e as Error).message}`, { file });
  }
  if (doc.version !== INITDATA_VERSION)
    throw new GenpolicyError(`${file}: version must be "${INITDATA_VERSION}", got ${JSON.stringify(doc.version)}`, {
      file,
      field: 'version',
    });
  if (typeof doc.algorithm !== 'string' || !ALGORITHMS.has(doc.algorithm)) {
    throw new GenpolicyError(
      `${file}: algorithm must be one of sha256, sha384, sha512, got ${JSON.stringify(doc.algorithm)}`,
      { file, field: 'algorithm' },
    );
  }
  const data = doc.data ?? {};
  if (typeof data !== 'object' || Array.isArray(data))
    throw new GenpolicyError(`${file}: [data] must be a table`, { file, field: 'data' });
  for (const [k, v] of Object.entries(data))
    if (typeof v !== 'string')
      throw new GenpolicyError(`${file}: data."${k}" must be a string`, { file, field: `data.${k}` });
  return { version: doc.version, algorithm: doc.algorithm, data: data as Record<string, string> };
}

/** initdata TOML with the policy under `policy.rego`, keeping other entries of `base` (if given). */
export function initdataToml(policy: string, base?: InitdataDocument): string {
  const doc: InitdataDocument = base
    ? { ...base, data: { ...base.data, [POLICY_KEY]: policy } }
    : { version: INITDATA_VERSION, algorithm: 'sha256', data: { [POLICY_KEY]: policy } };
  const lines = [
    `version = ${JSON.stringify(doc.version)}`,
    `algorithm = ${JSON.stringify(doc.algorithm)}`,
    '',
    '[data]',
  ];
  for (const [k, v] of Object.entries(doc.data)) lines.push(`${JSON.stringify(k)} = ${tomlString(v)}`);
  return `${lines.join('\n')}\n`;
}

export function encodeInitdataAnnotation(toml: string): string {
  return gzipSync(Buffer.from(toml, 'utf8'), { level: 9 }).toString('base64');
}

/** base64 → gunzip → TOML → the document (for tests, `policy explain`, and the runtime side). */
export function decodeInitdataAnnotation(value: string): InitdataDocument {
  let text: string;
  try {
    text = gunzipSync(Buffer.from(value, 'base64')).toString('utf8');
  } catch (e) {
    throw new GenpolicyError(`${INITDATA_ANNOTATION}: not base64 of gzip data: ${(e as Error).message}`, {
      field: INITDATA_ANNOTATION,
    });
  }
  return parseInitdataToml(text, INITDATA_ANNOTATION);
}

export function encodeLegacyPolicyAnnotation(policy: string): string {
  return Buffer.from(policy, 'utf8').toString('base64');
}
