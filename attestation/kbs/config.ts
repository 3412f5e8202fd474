/**
 * `ccgpu kbs serve` configuration (TOML) and how it becomes server options.
 *
 * ```toml
 * [http]
 * listen = "127.0.0.1:8080"
 * tls_cert = "/etc/ccgpu/kbs/tls.crt"   # optional, both or neither
 * tls_key = "/etc/ccgpu/kbs/tls.key"
 * [admin]
 * mode = "ed25519"                      # ed25519 | insecure-allow-all | deny-all
 * public_key = "/etc/ccgpu/kbs/admin.pub"
 * [storage]
 * resource_dir = "/var/lib/ccgpu/kbs/resources"
 * [session]
 * timeout_minutes = 5
 * [token]
 * lifetime_minutes = 5
 * signing_key = "/etc/ccgpu/kbs/token.key"   # EC P-256 PEM; ephemeral when absent
 * [policy]
 * attestation_policy = "attestation.rego"     # optional, Rego
 * resource_policy = "resource.rego"           # optional, Rego
 * reference_values = "reference-values.json"  # optional: {"measurement": [hex], "init_data": [hex], ...}
 * allow_list = "allow-list.json"              # instead of Rego: fail-closed JSON allow list
 * insecure_allow_sample = false               # let the software-only sample TEE get resources
 * [verifier]
 * amd_cert_chain = "amd/"                     # PEM file or directory of <gen>_ask_ark_asvk.pem bundles (SNP)
 * snp_kds = false                             # fetch VCEKs / ASK+ARK from kdsintf.amd.com (cached)
 * tdx_collateral_dir = "tdx/"                 # tcbInfo / QE identity / issuer chain files (TDX)
 * tdx_pcs = false                             # fetch TDX collateral from Intel PCS (cached)
 * pcs_url = "https://api.trustedservices.intel.com"   # or a PCCS
 * ```
 */
import { createPrivateKey } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { parse as parseToml } from 'smol-toml';
import type { Logger } from 'pino';
import { adminAuthFromPem, type AdminAuth } from './admin-auth.js';
import { DEFAULT_RESOURCE_POLICY, SAMPLE_ALLOWING_RESOURCE_POLICY } from './default-policies.js';
import { fromEarPrivateKey } from './ear-token.js';
import { loadTdxCollateralDir } from '../verifier/index.js';
import {
  builtinVerifiers,
  onlineHardwareVerifierOptions,
  type EvidenceVerifiers,
  type HardwareVerifierOptions,
} from './evidence-verifiers.js';
import {
  AllowListKbsPolicy,
  parseAllowList,
  referenceValuesProblem,
  RegoKbsPolicy,
  type KbsPolicy,
  type ReferenceValues,
  type RegoEngineFactory,
} from './policy.js';
import { defaultRegoEngineFactory } from './rego-engine.js';
import type { KbsServerOptions } from './server.js';

export class KbsConfigError extends Error {
  constructor(
    message: string,
    readonly file: string,
    readonly key?: string,
  ) {
    super(`${file}${key ? ` [${key}]` : ''}: ${message}`);
    this.name = 'KbsConfigError';
  }
}

export interface KbsConfig {
  file: string;
  listen: { host: string; port: number };
  tls?: { cert: string; key: string };
  admin: { mode: 'ed25519' | 'insecure-allow-all' | 'deny-all'; publicKey?: string };
  resourceDir: string;
  sessionTimeoutMinutes: number;
  tokenLifetimeMinutes: number;
  tokenSigningKey?: string;
  attestationPolicy?: string;
  resourcePolicy?: string;
  referenceValues?: string;
  allowList?: string;
  insecureAllowSample: boolean;
  verifier: { amdCertChain?: string; snpKds: boolean; tdxCollateralDir?: string; tdxPcs: boolean; pcsUrl?: string };
}

export const KBS_CONFIG_DEFAULTS: KbsConfig = {
  file: '(defaults)',
  listen: { host: '127.0.0.1', port: 8080 },
  admin: { mode: 'deny-all' },
  resourceDir: '/var/lib/ccgpu/kbs/resources',
  sessionTimeoutMinutes: 5,
  tokenLifetimeMinutes: 5,
  insecureAllowSample: false,
  verifier: { snpKds: false, tdxPcs: false },
};

export function parseListen(v: string, file: string, key = 'http.listen'): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(v);
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) throw new KbsConfigError(`must be "<host>:<port>", got ${JSON.stringify(v)}`, file, key);
  return { host: m[1] ?? (m[2] || '127.0.0.1'), port };
}

function tbl(doc: Record<string, unknown>, k: string, file: string): Record<string, unknown> {
  const v = doc[k];
  if (v === undefined) return {};
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw new KbsConfigError('must be a table', file, k);
  return v as Record<string, unknown>;
}
function s(t: Record<string, unknown>, k: string, file: string, sect: string): string | undefined {
  const v = t[k];
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || v.length === 0)
    throw new KbsConfigError('must be a non-empty string', file, `${sect}.${k}`);
  return v;
}
function n(t: Record<string, unknown>, k: string, file: string, sect: string, def: number): number {
  const v = t[k];
  if (v === undefined) return def;
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0 || v > 24 * 60) {
    throw new KbsConfigError('must be a number of minutes in (0, 1440]', file, `${sect}.${k}`);
  }
  return v;
}

export function parseKbsConfig(text: string, file: string): KbsConfig {
  let doc: Record<string, unknown>;
  try {
    doc = parseToml(text) as Record<string, unknown>;
  } catch (e) {
    throw new KbsConfigError(`invalid TOML: ${(e as Error).message.split('\n')[0]}`, file);
  }
  const known = new Set(['http', 'admin', 'storage', 'session', 'token', 'policy', 'verifier']);
  for (const k of Object.keys(doc))
    if (!known.has(k)) throw new KbsConfigError(`unknown section (expected ${[...known].join(', ')})`, file, k);
  const rel = (p: string | undefined): string | undefined =>
    p === undefined ? undefined : path.resolve(path.dirname(file), p);
  const http = tbl(doc, 'http', file);
  const admin = tbl(doc, 'admin', file);
  const storage = tbl(doc, 'storage', file);
  const session = tbl(doc, 'session', file);
  const token = tbl(doc, 'token', file);
  const policy = tbl(doc, 'policy', file);
  const verifier = tbl(doc, 'verifier', file);
  const cfg: KbsConfig = { ...KBS_CONFIG_DEFAULTS, file, verifier: { ...KBS_CONFIG_DEFAULTS.verifier } };
  const listen = s(http, 'listen', file, 'http');
  if (listen) cfg.listen = parseListen(listen, file);
  const cert = rel(s(http, 'tls_cert', file, 'http'));
  const key = rel(s(http, 'tls_key', file, 'http'));
  if (!!cert !== !!key) throw new KbsConfigError('tls_cert and tls_key go together', file, 'http');
  if (cert && key) cfg.tls = { cert, key };
  const mode = s(admin, 'mode', file, 'admin') ?? (admin.public_key ? 'ed25519' : 'deny-all');
  if (mode !== 'ed25519' && mode !== 'insecure-allow-all' && mode !== 'deny-all') {
    throw new KbsConfigError(
      `must be ed25519, insecure-allow-all or deny-all, got ${JSON.stringify(mode)}`,
      file,
      'admin.mode',
    );
  }
  cfg.admin = { mode };
  const pk = rel(s(admin, 'public_key', file, 'admin'));
  if (mode === 'ed25519') {
    if (!pk) throw new KbsConfigError('mode ed25519 needs public_key (an Ed25519 PEM file)', file, 'admin.public_key');
    cfg.admin.publicKey = pk;
  }
  cfg.resourceDir = rel(s(storage, 'resource_dir', file, 'storage')) ?? cfg.resourceDir;
  cfg.sessionTimeoutMinutes = n(session, 'timeout_minutes', file, 'session', cfg.sessionTimeoutMinutes);
  cfg.tokenLifetimeMinutes = n(token, 'lifetime_minutes', file, 'token', cfg.tokenLifetimeMinutes);
  const sk = rel(s(token, 'signing_key', file, 'token'));
  if (sk) cfg.tokenSigningKey = sk;
  for (const [k, f] of [
    ['attestation_policy', 'attestationPolicy'],
    ['resource_policy', 'resourcePolicy'],
    ['reference_values', 'referenceValues'],
    ['allow_list', 'allowList'],
  ] as const) {
    const v = rel(s(policy, k, file, 'policy'));
    if (v) cfg[f] = v;
  }
  if (policy.insecure_allow_sample !== undefined) {
    if (typeof policy.insecure_allow_sample !== 'boolean')
      throw new KbsConfigError('must be a boolean', file, 'policy.insecure_allow_sample');
    cfg.insecureAllowSample = policy.insecure_allow_sample;
  }
  const amd = rel(s(verifier, 'amd_cert_chain', file, 'verifier'));
  if (amd) cfg.verifier.amdCertChain = amd;
  const tdxDir = rel(s(verifier, 'tdx_collateral_dir', file, 'verifier'));
  if (tdxDir) cfg.verifier.tdxCollateralDir = tdxDir;
  const pcsUrl = s(verifier, 'pcs_url', file, 'verifier');
  if (pcsUrl) {
    if (!/^https?:\/\//.test(pcsUrl)) throw new KbsConfigError('must be an http(s) URL', file, 'verifier.pcs_url');
    cfg.verifier.pcsUrl = pcsUrl.replace(/\/+$/, '');
  }
  for (const [k, f] of [
    ['snp_kds', 'snpKds'],
    ['tdx_pcs', 'tdxPcs'],
  ] as const) {
    if (verifier[k] === undefined) continue;
    if (typeof verifier[k] !== 'boolean') throw new KbsConfigError('must be a boolean', file, `verifier.${k}`);
    cfg.verifier[f] = verifier[k];
  }
  return cfg;
}

export function loadKbsConfig(file: string): KbsConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new KbsConfigError(`cannot read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, file);
  }
  return parseKbsConfig(text, file);
}

function readText(file: string, what: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (e) {
    throw new KbsConfigError(`cannot read ${what}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, file);
  }
}

export function loadReferenceValues(file: string): ReferenceValues {
  const text = readText(file, 'reference values');
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new KbsConfigError(`reference values are not JSON: ${(e as Error).message}`, file);
  }
  const problem = referenceValuesProblem(v);
  if (problem) throw new KbsConfigError(problem, file);
  return v as ReferenceValues;
}

/**
 * The policy layer for a config: Rego (ccgpu's engine) by default; the fail-closed allow-list only when the operator
 * configures `policy.allow_list` (and no Rego files), or when no Rego engine is passed.
 */
export function buildKbsPolicy(
  cfg: KbsConfig,
  regoEngineFactory: RegoEngineFactory | undefined = defaultRegoEngineFactory,
): KbsPolicy {
  const referenceValues = cfg.referenceValues ? loadReferenceValues(cfg.referenceValues) : {};
  if (cfg.allowList && (cfg.resourcePolicy || cfg.attestationPolicy)) {
    throw new KbsConfigError(
      'allow_list and Rego policies (resource_policy / attestation_policy) exclude each other',
      cfg.file,
      'policy',
    );
  }
  if (regoEngineFactory && !cfg.allowList) {
    const resourcePolicy = cfg.resourcePolicy
      ? readText(cfg.resourcePolicy, 'resource policy')
      : cfg.insecureAllowSample
        ? SAMPLE_ALLOWING_RESOURCE_POLICY
        : DEFAULT_RESOURCE_POLICY;
    const attestationPolicy = cfg.attestationPolicy ? readText(cfg.attestationPolicy, 'attestation policy') : undefined;
    return new RegoKbsPolicy(regoEngineFactory, {
      resourcePolicy,
      referenceValues,
      ...(attestationPolicy ? { attestationPolicy } : {}),
    });
  }
  if (cfg.resourcePolicy || cfg.attestationPolicy) {
    throw new KbsConfigError(
      'Rego policies are configured but no Rego engine is available; use policy.allow_list instead',
      cfg.file,
      'policy',
    );
  }
  const entries = cfg.allowList ? parseAllowList(readText(cfg.allowList, 'allow list'), cfg.allowList) : [];
  return new AllowListKbsPolicy(entries, { referenceValues });
}

/** PEM text of the AMD ASK/ARK/ASVK bundles: one file, or every *.pem in a directory. */
function readAmdCertChain(p: string): string {
  let st;
  try {
    st = statSync(p);
  } catch (e) {
    throw new KbsConfigError(
      `cannot read AMD certificate chain: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
      p,
    );
  }
  if (!st.isDirectory()) return readText(p, 'AMD certificate chain');
  const files = readdirSync(p)
    .filter((f) => f.endsWith('.pem'))
    .sort();
  if (files.length === 0) throw new KbsConfigError('no *.pem AMD certificate bundles in this directory', p);
  return files.map((f) => readText(path.join(p, f), 'AMD certificate chain')).join('\n');
}

/** The SNP / TDX verifier inputs (AMD chain, KDS, TDX collateral, PCS) from `[verifier]`. */
export function buildHardwareVerifierOptions(cfg: KbsConfig): HardwareVerifierOptions {
  const v = cfg.verifier;
  const o: HardwareVerifierOptions = onlineHardwareVerifierOptions({
    kds: v.snpKds,
    pcs: v.tdxPcs,
    ...(v.pcsUrl ? { pcsBase: v.pcsUrl } : {}),
  });
  if (v.amdCertChain) o.amdCertChain = readAmdCertChain(v.amdCertChain);
  if (v.tdxCollateralDir) {
    try {
      o.collateral = loadTdxCollateralDir(v.tdxCollateralDir);
    } catch (e) {
      throw new KbsConfigError(`TDX collateral: ${(e as Error).message}`, v.tdxCollateralDir);
    }
  }
  return o;
}

export function buildKbsServerOptions(
  cfg: KbsConfig,
  opts: { logger?: Logger; regoEngineFactory?: RegoEngineFactory; verifiers?: EvidenceVerifiers } = {},
): KbsServerOptions {
  let admin: AdminAuth;
  if (cfg.admin.mode === 'ed25519')
    admin = adminAuthFromPem(readText(cfg.admin.publicKey!, 'admin public key'), cfg.admin.publicKey);
  else admin = { mode: cfg.admin.mode };
  const o: KbsServerOptions = {
    resourceDir: cfg.resourceDir,
    policy: buildKbsPolicy(cfg, opts.regoEngineFactory),
    admin,
    verifiers: opts.verifiers ?? builtinVerifiers(buildHardwareVerifierOptions(cfg)),
    sessionTimeoutMs: cfg.sessionTimeoutMinutes * 60_000,
    tokenLifetimeSeconds: Math.round(cfg.tokenLifetimeMinutes * 60),
  };
  if (cfg.tokenSigningKey) {
    try {
      o.signer = fromEarPrivateKey(createPrivateKey(readText(cfg.tokenSigningKey, 'token signing key')));
    } catch (e) {
      if (e instanceof KbsConfigError) throw e;
      throw new KbsConfigError(`token signing key: ${(e as Error).message}`, cfg.tokenSigningKey);
    }
  }
  if (cfg.tls) o.tls = { cert: readText(cfg.tls.cert, 'TLS certificate'), key: readText(cfg.tls.key, 'TLS key') };
  if (opts.logger) o.logger = opts.logger;
  return o;
}
