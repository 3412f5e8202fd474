/**
 * Guest-side configuration from initdata: `aa.toml` (`[token_configs.kbs] url, cert`) and `cdh.toml`
 * (`[kbc] name = "cc_kbc", url, kbs_cert`, `[[credentials]]`, `skip_sealed_secret_verification`). The KBS URL and
 * its certificate come from here, never from the host.
 */
import { parse as parseToml } from 'smol-toml';
import type { Initdata } from '../initdata/index.js';

export class GuestConfigError extends Error {
  constructor(
    message: string,
    readonly file: string,
    readonly key?: string,
  ) {
    super(`${file}${key ? ` ${key}` : ''}: ${message}`);
    this.name = 'GuestConfigError';
  }
}

export interface CdhCredential {
  resourceUri: string;
  path: string;
}

export interface GuestKbsConfig {
  /** The KBS URL the CDH and AA use. */
  url: string;
  /** PEM certificate of an https KBS, if any. */
  cert?: string;
  credentials: CdhCredential[];
  /** INSECURE: accept unsigned legacy sealed secrets. */
  skipSealedSecretVerification: boolean;
}

function table(v: unknown, file: string, key: string): Record<string, unknown> | undefined {
  if (v === undefined) return undefined;
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw new GuestConfigError('must be a table', file, key);
  return v as Record<string, unknown>;
}
function optStr(v: unknown, file: string, key: string): string | undefined {
  if (v === undefined || v === '') return undefined;
  if (typeof v !== 'string') throw new GuestConfigError('must be a string', file, key);
  return v;
}
function parse(text: string, file: string): Record<string, unknown> {
  try {
    return parseToml(text) as Record<string, unknown>;
  } catch (e) {
    throw new GuestConfigError(`invalid TOML: ${(e as Error).message.split('\n')[0]}`, file);
  }
}

function checkUrl(url: string, file: string, key: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new GuestConfigError(`${JSON.stringify(url)} is not a URL`, file, key);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:')
    throw new GuestConfigError(`${url} must be http(s)`, file, key);
  return url;
}

/** The KBS settings from initdata's aa.toml / cdh.toml. cdh.toml's `[kbc]` wins for resources. */
export function guestKbsConfigFromInitdata(initdata: Pick<Initdata, 'data'>): GuestKbsConfig {
  const aaText = initdata.data['aa.toml'];
  const cdhText = initdata.data['cdh.toml'];
  let url: string | undefined;
  let cert: string | undefined;
  const credentials: CdhCredential[] = [];
  let skip = false;
  if (cdhText !== undefined) {
    const cdh = parse(cdhText, 'cdh.toml');
    const kbc = table(cdh.kbc, 'cdh.toml', '[kbc]');
    if (kbc) {
      const name = optStr(kbc.name, 'cdh.toml', 'kbc.name') ?? 'cc_kbc';
      if (name !== 'cc_kbc')
        throw new GuestConfigError(`only "cc_kbc" is supported, got ${JSON.stringify(name)}`, 'cdh.toml', 'kbc.name');
      const u = optStr(kbc.url, 'cdh.toml', 'kbc.url');
      if (u) url = checkUrl(u, 'cdh.toml', 'kbc.url');
      cert = optStr(kbc.kbs_cert, 'cdh.toml', 'kbc.kbs_cert');
    }
    if (cdh.credentials !== undefined) {
      if (!Array.isArray(cdh.credentials))
        throw new GuestConfigError('must be an array of tables', 'cdh.toml', '[[credentials]]');
      cdh.credentials.forEach((c, i) => {
        const t = table(c, 'cdh.toml', `credentials[${i}]`)!;
        const resourceUri = optStr(t.resource_uri, 'cdh.toml', `credentials[${i}].resource_uri`);
        const p = optStr(t.path, 'cdh.toml', `credentials[${i}].path`);
        if (!resourceUri || !p)
          throw new GuestConfigError('needs resource_uri and path', 'cdh.toml', `credentials[${i}]`);
        credentials.push({ resourceUri, path: p });
      });
    }
    if (cdh.skip_sealed_secret_verification !== undefined) {
      if (typeof cdh.skip_sealed_secret_verification !== 'boolean') {
        throw new GuestConfigError('must be a boolean', 'cdh.toml', 'skip_sealed_secret_verification');
      }
      skip = cdh.skip_sealed_secret_verification;
    }
  }
  if (aaText !== undefined) {
    const aa = parse(aaText, 'aa.toml');
    const tc = table(aa.token_configs, 'aa.toml', '[token_configs]');
    const kbs = tc ? table(tc.kbs, 'aa.toml', '[token_configs.kbs]') : undefined;
    if (kbs) {
      const u = optStr(kbs.url, 'aa.toml', 'token_configs.kbs.url');
      if (u && !url) url = checkUrl(u, 'aa.toml', 'token_configs.kbs.url');
      const c = optStr(kbs.cert, 'aa.toml', 'token_configs.kbs.cert');
      if (c && !cert) cert = c;
    }
  }
  if (!url)
    throw new GuestConfigError(
      'no KBS URL: set [kbc] url in cdh.toml or [token_configs.kbs] url in aa.toml',
      'initdata',
    );
  return { url, ...(cert ? { cert } : {}), credentials, skipSealedSecretVerification: skip };
}
