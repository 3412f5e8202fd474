/**
 * KBS client (guest side, RCAR protocol 0.4.0): auth → attest → token (cached until it expires) → resource GET →
 * JWE decryption with the TEE private key.
 *
 * Retries with exponential backoff and jitter on network errors only (a failed handshake restarts from /auth, so a
 * nonce is never replayed); an answer from the KBS (policy denial, failed attestation, protocol mismatch, missing
 * resource, 5xx) is never retried. A stale token or session (401
 * TokenInvalid / ExpiredCookie / InvalidCookie / TokenNotFound) triggers one fresh RCAR handshake.
 */
import type { KeyObject } from 'node:crypto';
import type { Logger } from 'pino';
import { Agent, request, type Dispatcher } from 'undici';
import { tokenExpiry } from './ear-token.js';
import { KbsError, type KbsErrorVariant } from './errors.js';
import { redactingLogger } from './log-redaction.js';
import { decryptFromTee, generateTeeKeyPair } from './jwe.js';
import {
  HASH_ALGORITHMS,
  KBS_API_PREFIX,
  KBS_ERROR_TYPE_PREFIX,
  KBS_PROTOCOL_VERSION,
  KBS_SESSION_COOKIE,
  type KbsAttestation,
  type KbsChallenge,
  type KbsTee,
  type TeePubkey,
} from './protocol.js';
import { validateResourcePath } from './resource-store.js';
import { deviceRuntimeData, primaryRuntimeData, runtimeDataDigest, selectedHashAlgorithm } from './runtime-data.js';

/** What the client needs from an attester (the `attestation/agent` attesters satisfy it). */
export interface EvidenceProvider {
  readonly tee: KbsTee | string;
  /** Evidence binding `reportData` (a runtime-data digest; the attester fits it to its field). */
  getEvidence(reportData: Buffer): Promise<unknown>;
}

export interface KbsClientOptions {
  /** KBS base URL, e.g. http://127.0.0.1:8080 (from initdata aa.toml / cdh.toml). */
  url: string;
  attester: EvidenceProvider;
  /** Device attesters whose evidence goes into `additional_evidence` (NVIDIA GPUs, sample device). */
  additionalAttesters?: EvidenceProvider[];
  /** The initdata TOML text, sent as `init-data` so the KBS can check its digest against the evidence. */
  initdataToml?: string;
  /** PEM CA certificate(s) for an https KBS (initdata `kbs_cert`). */
  certPem?: string;
  teeKeyType?: 'P-256' | 'P-384' | 'P-521' | 'RSA';
  retry?: { attempts?: number; baseDelayMs?: number; maxDelayMs?: number };
  /** Per-request timeout. */
  timeoutMs?: number;
  logger?: Logger;
  now?: () => number;
}

/** The KBS could not be reached (after retries). */
export class KbsUnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'KbsUnavailableError';
  }
}

/** A transport-level failure (connection refused/reset, timeout): the only kind of error that is retried. */
class NetworkError extends Error {
  constructor(cause: unknown) {
    super((cause as Error)?.message ?? String(cause), { cause });
    this.name = 'NetworkError';
  }
}

const RENEW_ON: ReadonlySet<string> = new Set(['TokenInvalid', 'ExpiredCookie', 'InvalidCookie', 'TokenNotFound']);
const TOKEN_SKEW_MS = 10_000;

interface HttpResult {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

function errorFromBody(status: number, body: Buffer, what: string): KbsError {
  let variant: KbsErrorVariant = 'PluginInternalError';
  let detail = `${what}: HTTP ${status}`;
  try {
    const j = JSON.parse(body.toString('utf8')) as { type?: unknown; detail?: unknown };
    if (typeof j.type === 'string' && j.type.startsWith(KBS_ERROR_TYPE_PREFIX))
      variant = j.type.slice(KBS_ERROR_TYPE_PREFIX.length) as KbsErrorVariant;
    if (typeof j.detail === 'string') detail = `${what}: ${j.detail}`;
  } catch {
    /* not a Trustee-shaped body */
  }
  return new KbsError(variant, detail, { status });
}

export class KbsClient {
  private readonly base: string;
  private readonly log: Logger;
  private readonly dispatcher?: Dispatcher;
  private readonly teeKey: { privateKey: KeyObject; publicJwk: TeePubkey };
  private readonly attempts: number;
  private readonly baseDelay: number;
  private readonly maxDelay: number;
  private readonly now: () => number;
  private cached?: { token: string; expiresAt: number; cookie?: string };
  private inflight?: Promise<string>;

  constructor(private readonly opts: KbsClientOptions) {
    let u: URL;
    try {
      u = new URL(opts.url);
    } catch {
      throw new Error(`KBS URL ${JSON.stringify(opts.url)} is not a valid URL`);
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error(`KBS URL ${opts.url} must be http(s)`);
    this.base = u.origin + u.pathname.replace(/\/+$/, '');
    this.log = redactingLogger(opts.logger, { component: 'kbs-client' });
    if (opts.certPem) this.dispatcher = new Agent({ connect: { ca: opts.certPem } });
    this.teeKey = generateTeeKeyPair(opts.teeKeyType ?? 'P-256');
    this.attempts = Math.max(1, opts.retry?.attempts ?? 5);
    this.baseDelay = opts.retry?.baseDelayMs ?? 250;
    this.maxDelay = opts.retry?.maxDelayMs ?? 5000;
    this.now = opts.now ?? Date.now;
  }

  /** Release the HTTP connection pool. */
  async close(): Promise<void> {
    if (this.dispatcher) await this.dispatcher.close();
  }

  private async backoff(attempt: number, what: string, err: unknown): Promise<void> {
    const delay = Math.min(this.maxDelay, this.baseDelay * 2 ** (attempt - 1)) * (0.5 + Math.random() / 2);
    this.log.warn(
      { what, attempt, err: (err as Error).message, delayMs: Math.round(delay) },
      'KBS unreachable, retrying',
    );
    await new Promise((r) => setTimeout(r, delay));
  }

  /**
   * Run `f`, retrying with exponential backoff and jitter while it fails with a network error. Answers from the KBS
   * (any HTTP status, including 5xx and policy denials) are never retried here.
   */
  private async withNetworkRetry<T>(what: string, f: () => Promise<T>): Promise<T> {
    let lastErr: unknown;
    for (let attempt = 1; attempt <= this.attempts; attempt++) {
      try {
        return await f();
      } catch (e) {
        if (!(e instanceof NetworkError)) throw e;
        lastErr = e.cause;
      }
      if (attempt < this.attempts) await this.backoff(attempt, what, lastErr);
    }
    throw new KbsUnavailableError(
      `KBS at ${this.base} unreachable after ${this.attempts} attempt(s): ${(lastErr as Error)?.message}`,
      {
        cause: lastErr,
      },
    );
  }

  /** One HTTP exchange; a transport failure becomes NetworkError (retryable), any answer is returned. */
  private async http(
    method: 'GET' | 'POST',
    path: string,
    headers: Record<string, string>,
    body?: string,
  ): Promise<HttpResult> {
    let r;
    try {
      r = await request(this.base + KBS_API_PREFIX + path, {
        method,
        headers,
        ...(body !== undefined ? { body } : {}),
        ...(this.dispatcher ? { dispatcher: this.dispatcher } : {}),
        headersTimeout: this.opts.timeoutMs ?? 30_000,
        bodyTimeout: this.opts.timeoutMs ?? 30_000,
      });
      return { status: r.statusCode, headers: r.headers, body: Buffer.from(await r.body.arrayBuffer()) };
    } catch (e) {
      throw new NetworkError(e);
    }
  }

  /** A valid attestation token: the cached one, or a fresh RCAR handshake. */
  async getToken(): Promise<string> {
    if (this.cached && this.cached.expiresAt - TOKEN_SKEW_MS > this.now()) return this.cached.token;
    if (!this.inflight) {
      // a network failure anywhere in auth → attest restarts the whole handshake (a new nonce, never a replay)
      this.inflight = this.withNetworkRetry('RCAR handshake', () => this.handshake()).finally(() => {
        this.inflight = undefined;
      });
    }
    return this.inflight;
  }

  /** Forget the cached token (the next call re-attests). */
  invalidateToken(): void {
    this.cached = undefined;
  }

  private async handshake(): Promise<string> {
    const tee = this.opts.attester.tee;
    const auth = await this.http(
      'POST',
      '/auth',
      { 'content-type': 'application/json' },
      JSON.stringify({
        version: KBS_PROTOCOL_VERSION,
        tee,
        'extra-params': { 'supported-hash-algorithms': [...HASH_ALGORITHMS] },
      }),
    );
    if (auth.status !== 200) throw errorFromBody(auth.status, auth.body, 'RCAR handshake Auth failed');
    const cookie = this.sessionCookie(auth.headers['set-cookie']);
    if (!cookie)
      throw new KbsError('MissingCookie', 'RCAR handshake Auth failed: the KBS set no kbs-session-id cookie');
    let challenge: KbsChallenge;
    try {
      challenge = JSON.parse(auth.body.toString('utf8')) as KbsChallenge;
    } catch {
      throw new KbsError('InvalidRequest', 'RCAR handshake Auth failed: the challenge is not JSON');
    }
    if (typeof challenge.nonce !== 'string' || challenge.nonce.length === 0) {
      throw new KbsError('InvalidRequest', 'RCAR handshake Auth failed: the challenge has no nonce');
    }
    const alg = selectedHashAlgorithm(challenge['extra-params']);
    const nonce = challenge.nonce;
    const pub = this.teeKey.publicJwk;

    let additional = '';
    if (this.opts.additionalAttesters?.length) {
      const deviceDigest = runtimeDataDigest(deviceRuntimeData(nonce, pub), alg);
      const map: Record<string, unknown> = {};
      for (const a of this.opts.additionalAttesters) map[a.tee] = await a.getEvidence(deviceDigest);
      additional = JSON.stringify(map);
    }
    const primaryDigest = runtimeDataDigest(primaryRuntimeData(nonce, pub, additional), alg);
    const evidence = await this.opts.attester.getEvidence(primaryDigest);
    const att: KbsAttestation = {
      'runtime-data': { nonce, 'tee-pubkey': pub },
      'tee-evidence': { primary_evidence: evidence, additional_evidence: additional },
    };
    if (this.opts.initdataToml !== undefined) att['init-data'] = { format: 'toml', body: this.opts.initdataToml };
    const res = await this.http('POST', '/attest', { 'content-type': 'application/json', cookie }, JSON.stringify(att));
    if (res.status !== 200) throw errorFromBody(res.status, res.body, 'RCAR handshake Attest failed');
    let token: unknown;
    try {
      token = (JSON.parse(res.body.toString('utf8')) as { token?: unknown }).token;
    } catch {
      /* handled below */
    }
    if (typeof token !== 'string' || token.split('.').length !== 3) {
      throw new KbsError('TokenInvalid', 'RCAR handshake Attest failed: the KBS answered without a token');
    }
    const exp = tokenExpiry(token) ?? this.now() + 60_000;
    this.cached = { token, expiresAt: exp, cookie };
    this.log.info({ tee, kbs: this.base }, 'RCAR handshake done: attestation token obtained');
    return token;
  }

  private sessionCookie(h: string | string[] | undefined): string | undefined {
    for (const c of Array.isArray(h) ? h : h ? [h] : []) {
      const first = c.split(';')[0]!.trim();
      if (first.startsWith(KBS_SESSION_COOKIE + '=')) return first;
    }
    return undefined;
  }

  /**
   * Fetch and decrypt a resource. `path` is `repo/type/tag`, `/repo/type/tag` or `kbs:///repo/type/tag`
   * (the host part of a kbs:// URI is ignored: the client talks to its configured KBS).
   */
  async getResource(path: string): Promise<Buffer> {
    const parts = parseResourcePath(path);
    for (let round = 0; round < 2; round++) {
      const token = await this.getToken();
      const res = await this.withNetworkRetry(`GET resource ${parts.join('/')}`, () =>
        this.http('GET', `/resource/${parts.join('/')}`, { authorization: `Bearer ${token}` }),
      );
      if (res.status === 200) {
        let jwe: unknown;
        try {
          jwe = JSON.parse(res.body.toString('utf8'));
        } catch {
          throw new KbsError('JweError', `resource ${parts.join('/')}: the KBS answer is not JSON`);
        }
        const plain = await decryptFromTee(jwe, this.teeKey.privateKey);
        this.log.info({ path: parts.join('/') }, 'resource fetched');
        return plain;
      }
      const err = errorFromBody(res.status, res.body, `resource ${parts.join('/')}`);
      if (round === 0 && RENEW_ON.has(err.variant)) {
        this.log.info({ reason: err.variant }, 'attestation token refused, attesting again');
        this.invalidateToken();
        continue;
      }
      throw err;
    }
    throw new KbsError('TokenInvalid', `resource ${parts.join('/')}: token refused after a fresh attestation`);
  }
}

/** `kbs:///repo/type/tag`, `kbs://host/repo/type/tag`, `/repo/type/tag` or `repo/type/tag` → segments. */
export function parseResourcePath(p: string): [string, string, string] {
  let rest = p;
  const m = /^kbs:\/\/([^/]*)\/(.*)$/.exec(p);
  if (m) rest = m[2]!;
  else if (p.startsWith('kbs:'))
    throw new Error(`resource URI ${JSON.stringify(p)} must look like kbs:///repo/type/tag`);
  return validateResourcePath(rest.replace(/^\/+/, '').split('/'));
}
