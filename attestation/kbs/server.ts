/**
 * The KBS HTTP server (RCAR protocol 0.4.0) on node:http / node:https.
 *
 *   POST /kbs/v0/auth                      Request → Challenge + kbs-session-id cookie
 *   POST /kbs/v0/attest                    Attestation (cookie) → {"token": EAR JWT}
 *   GET  /kbs/v0/resource/<repo>/<type>/<tag>   (cookie or Bearer token, resource policy) → flattened JWE
 *   POST|PUT|DELETE /kbs/v0/resource/...   admin: set / delete a resource (raw bytes)
 *   POST /kbs/v0/attestation-policy        admin: {"type":"rego","policy_id","policy": b64url}
 *   POST /kbs/v0/resource-policy           admin: {"policy": b64url}
 *   POST /kbs/v0/reference-value           admin: reference values JSON (replaces them)
 *   GET  /healthz, /metrics
 *
 * Errors are Trustee-shaped JSON with Trustee's status codes. Secret values (resources, tokens, cookies) are
 * never logged. Anything about the `sample` TEE is marked INSECURE in the response headers and the log.
 */
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { checkAdmin, type AdminAuth } from './admin-auth.js';
import {
  earStatus,
  generateEarSigner,
  issueEarToken,
  teePubkeyFromClaims,
  verifyEarToken,
  type EarClaims,
  type EarSigner,
  type Submod,
} from './ear-token.js';
import { KbsError } from './errors.js';
import { redactingLogger } from './log-redaction.js';
import { builtinVerifiers, type EvidenceVerifiers } from './evidence-verifiers.js';
import { initDataClaims, parseAttestationInitData } from './init-data-claims.js';
import { encryptToTeePubkey, importTeePubkey } from './jwe.js';
import { referenceValuesProblem, type KbsPolicy } from './policy.js';
import {
  EAR_ANNOTATED_EVIDENCE,
  HASH_ALGORITHMS,
  isKbsTee,
  KBS_API_PREFIX,
  KBS_PROTOCOL_VERSION,
  KBS_SESSION_COOKIE,
  type HashAlgorithm,
} from './protocol.js';
import { ResourcePathError, ResourceStore, validateResourcePath } from './resource-store.js';
import { deviceRuntimeData, primaryRuntimeData, runtimeDataDigest } from './runtime-data.js';
import { SessionStore, type Session } from './session-store.js';

export const INSECURE_HEADER = 'x-kbs-insecure';
export const INSECURE_NOTICE = 'sample TEE: software-only evidence, NO hardware protection (development only)';

export interface KbsServerOptions {
  resourceDir: string;
  policy: KbsPolicy;
  admin: AdminAuth;
  verifiers?: EvidenceVerifiers;
  /** ES256 token signer; ephemeral when absent. */
  signer?: EarSigner;
  sessionTimeoutMs?: number;
  tokenLifetimeSeconds?: number;
  tls?: { key: string | Buffer; cert: string | Buffer };
  logger?: Logger;
  maxBodyBytes?: number;
  now?: () => number;
}

const JSON_TYPE = 'application/json';

interface Ctx {
  req: http.IncomingMessage;
  res: http.ServerResponse;
  path: string;
  query: URLSearchParams;
}

function readCookie(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const i = part.indexOf('=');
    if (i > 0 && part.slice(0, i).trim() === name) return part.slice(i + 1).trim();
  }
  return undefined;
}

function b64urlText(x: unknown, field: string): string {
  if (typeof x !== 'string' || !/^[A-Za-z0-9_\-+/]*={0,2}$/.test(x)) {
    throw new KbsError('InvalidRequest', `${field} must be base64url (no padding) of the policy text`);
  }
  return Buffer.from(x, x.includes('+') || x.includes('/') ? 'base64' : 'base64url').toString('utf8');
}

export class KbsServer {
  readonly sessions: SessionStore;
  readonly store: ResourceStore;
  private readonly signer: EarSigner;
  private readonly verifiers: EvidenceVerifiers;
  private readonly log: Logger;
  private readonly now: () => number;
  private readonly tokenLifetime: number;
  private readonly maxBody: number;
  private server?: http.Server;
  private counters = { auth: 0, attest_ok: 0, attest_failed: 0, resource_ok: 0, resource_denied: 0 };

  constructor(private readonly opts: KbsServerOptions) {
    this.now = opts.now ?? Date.now;
    this.sessions = new SessionStore(opts.sessionTimeoutMs ?? 5 * 60_000, 100_000, this.now);
    this.store = new ResourceStore(opts.resourceDir);
    this.signer = opts.signer ?? generateEarSigner();
    this.verifiers = opts.verifiers ?? builtinVerifiers();
    this.log = redactingLogger(opts.logger, { component: 'kbs' });
    this.tokenLifetime = opts.tokenLifetimeSeconds ?? 300;
    this.maxBody = opts.maxBodyBytes ?? 8 * 1024 * 1024;
  }

  get tokenPublicJwk(): Record<string, unknown> {
    return this.signer.publicJwk;
  }
  get policy(): KbsPolicy {
    return this.opts.policy;
  }

  /** Start listening; resolves with the URL (e.g. http://127.0.0.1:8080). */
  async listen(port = 8080, host = '127.0.0.1'): Promise<string> {
    const handler = (req: http.IncomingMessage, res: http.ServerResponse): void => {
      void this.handle(req, res);
    };
    this.server = this.opts.tls
      ? https.createServer({ key: this.opts.tls.key, cert: this.opts.tls.cert }, handler)
      : http.createServer(handler);
    this.server.keepAliveTimeout = 5000;
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(port, host, () => resolve());
    });
    const a = this.server.address() as AddressInfo;
    const h = a.family === 'IPv6' ? `[${a.address}]` : a.address;
    const url = `${this.opts.tls ? 'https' : 'http'}://${h}:${a.port}`;
    this.log.info(
      { url, policy: this.opts.policy.kind, admin: this.opts.admin.mode, tees: Object.keys(this.verifiers) },
      'KBS listening',
    );
    if (this.verifiers.sample)
      this.log.warn({ insecure: INSECURE_NOTICE }, 'the sample TEE verifier is enabled: INSECURE');
    return url;
  }

  async close(): Promise<void> {
    const s = this.server;
    if (!s) return;
    this.server = undefined;
    s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }

  /** The request handler (exposed for embedding in another server). */
  async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://kbs');
    const ctx: Ctx = { req, res, path: url.pathname, query: url.searchParams };
    try {
      await this.route(ctx);
    } catch (e) {
      const err =
        e instanceof KbsError
          ? e
          : e instanceof ResourcePathError
            ? new KbsError('InvalidRequestPath', e.message)
            : new KbsError('PluginInternalError', 'internal error');
      if (!(e instanceof KbsError) && !(e instanceof ResourcePathError))
        this.log.error({ err: (e as Error).message, path: ctx.path }, 'KBS internal error');
      else
        this.log.info(
          { path: ctx.path, method: req.method, error: err.variant, status: err.status, detail: err.message },
          'KBS request refused',
        );
      if (!res.headersSent) this.send(res, err.status, err.toBody());
      else res.destroy();
    }
  }

  private send(
    res: http.ServerResponse,
    status: number,
    body: unknown,
    headers: Record<string, string | string[]> = {},
  ): void {
    const text = JSON.stringify(body);
    res.writeHead(status, { 'content-type': JSON_TYPE, 'content-length': Buffer.byteLength(text), ...headers });
    res.end(text);
  }

  private async body(req: http.IncomingMessage): Promise<Buffer> {
    const len = Number(req.headers['content-length'] ?? 0);
    if (len > this.maxBody)
      throw new KbsError('PayloadTooLarge', `request body of ${len} bytes exceeds ${this.maxBody}`);
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const c of req) {
      size += (c as Buffer).length;
      if (size > this.maxBody) throw new KbsError('PayloadTooLarge', `request body exceeds ${this.maxBody} bytes`);
      chunks.push(c as Buffer);
    }
    return Buffer.concat(chunks);
  }

  private async json(req: http.IncomingMessage, what: string): Promise<Record<string, unknown>> {
    const raw = await this.body(req);
    let v: unknown;
    try {
      v = JSON.parse(raw.toString('utf8'));
    } catch {
      throw new KbsError('InvalidRequest', `${what}: body is not valid JSON`);
    }
    if (!v || typeof v !== 'object' || Array.isArray(v))
      throw new KbsError('InvalidRequest', `${what}: body must be a JSON object`);
    return v as Record<string, unknown>;
  }

  private async route(ctx: Ctx): Promise<void> {
    const { req, path } = ctx;
    const m = req.method ?? 'GET';
    if (path === '/healthz') return this.send(ctx.res, 200, { status: 'ok' });
    if (path === '/metrics' && m === 'GET') return this.metrics(ctx);
    if (!path.startsWith(KBS_API_PREFIX + '/')) throw new KbsError('InvalidRequestPath', `unknown path ${path}`);
    const segs = path.slice(KBS_API_PREFIX.length + 1).split('/');
    const head = segs[0] ?? '';
    const need = (method: string): void => {
      if (m !== method) throw new KbsError('MethodNotAllowed', `${m} is not allowed on ${path}`);
    };
    switch (head) {
      case 'auth':
        need('POST');
        return this.auth(ctx);
      case 'attest':
        need('POST');
        return this.attest(ctx);
      case 'resource':
        if (m === 'GET') return this.getResource(ctx, segs.slice(1));
        if (m === 'POST' || m === 'PUT') return this.setResource(ctx, segs.slice(1));
        if (m === 'DELETE') return this.deleteResource(ctx, segs.slice(1));
        throw new KbsError('MethodNotAllowed', `${m} is not allowed on ${path}`);
      case 'attestation-policy':
        need('POST');
        return this.setAttestationPolicy(ctx);
      case 'resource-policy':
        need('POST');
        return this.setResourcePolicy(ctx);
      case 'reference-value':
        need('POST');
        return this.setReferenceValues(ctx);
      default:
        throw new KbsError('PluginNotFound', `plugin ${JSON.stringify(head)} not found`);
    }
  }

  private metrics(ctx: Ctx): void {
    const text = Object.entries(this.counters)
      .map(([k, v]) => `kbs_${k}_total ${v}`)
      .concat([`kbs_sessions ${this.sessions.size}`])
      .join('\n');
    ctx.res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
    ctx.res.end(text + '\n');
  }

  private cookieHeader(s: Session): string {
    return `${KBS_SESSION_COOKIE}=${s.id}; Expires=${new Date(s.expiresAt).toUTCString()}; Path=${KBS_API_PREFIX}; HttpOnly`;
  }

  private async auth(ctx: Ctx): Promise<void> {
    const body = await this.json(ctx.req, 'RCAR handshake Auth failed');
    if (body.version !== KBS_PROTOCOL_VERSION) {
      throw new KbsError(
        'ProtocolVersion',
        `KBS Client Protocol Version Mismatch: expect =${KBS_PROTOCOL_VERSION} while the request is ${JSON.stringify(body.version ?? null)}`,
      );
    }
    if (!isKbsTee(body.tee))
      throw new KbsError(
        'InvalidRequest',
        `RCAR handshake Auth failed: unknown tee ${JSON.stringify(body.tee ?? null)}`,
      );
    if (!this.verifiers[body.tee]) {
      throw new KbsError(
        'InvalidRequest',
        `RCAR handshake Auth failed: this KBS has no verifier for tee "${body.tee}"`,
      );
    }
    // Hash algorithm: SHA-384 unless the client supports only others (se uses sha512; we follow the list).
    let alg: HashAlgorithm = 'sha384';
    const ep = body['extra-params'];
    const supported =
      ep && typeof ep === 'object' ? (ep as Record<string, unknown>)['supported-hash-algorithms'] : undefined;
    let extra: unknown = '';
    if (Array.isArray(supported) && !supported.includes('sha384')) {
      const pick = HASH_ALGORITHMS.find((h) => supported.includes(h));
      if (!pick)
        throw new KbsError('InvalidRequest', 'RCAR handshake Auth failed: no supported hash algorithm in common');
      alg = pick;
      extra = { 'selected-hash-algorithm': alg };
    }
    let s: Session;
    try {
      s = this.sessions.create(body.tee, alg);
    } catch (e) {
      throw new KbsError('InvalidRequest', `RCAR handshake Auth failed: ${(e as Error).message}`);
    }
    this.counters.auth++;
    const headers: Record<string, string> = { 'set-cookie': this.cookieHeader(s) };
    if (s.tee === 'sample') {
      headers[INSECURE_HEADER] = INSECURE_NOTICE;
      this.log.warn({ tee: s.tee, insecure: INSECURE_NOTICE }, 'RCAR auth from the sample TEE');
    }
    this.log.debug({ tee: s.tee }, 'RCAR auth: session created');
    this.send(ctx.res, 200, { nonce: s.nonce, 'extra-params': extra }, headers);
  }

  private session(ctx: Ctx, what: string): Session {
    const id = readCookie(ctx.req.headers.cookie, KBS_SESSION_COOKIE);
    if (!id) throw new KbsError('MissingCookie', `${what}: missing ${KBS_SESSION_COOKIE} cookie (call /auth first)`);
    const s = this.sessions.get(id);
    if (s === undefined)
      throw new KbsError('InvalidCookie', `${what}: unknown ${KBS_SESSION_COOKIE} (call /auth again)`);
    if (s === 'expired') throw new KbsError('ExpiredCookie', `${what}: the session expired (call /auth again)`);
    return s;
  }

  private async attest(ctx: Ctx): Promise<void> {
    const what = 'RCAR handshake Attest failed';
    const s = this.session(ctx, what);
    const body = await this.json(ctx.req, what);
    if (s.nonceConsumed) {
      throw new KbsError(
        'NonceMismatch',
        `${what}: the nonce of this session was already used; call /auth for a new one`,
      );
    }
    s.nonceConsumed = true; // single use, whatever happens next
    try {
      const claims = await this.verifyAttestation(s, body, what);
      const token = await issueEarToken(this.signer, {
        submods: claims.submods,
        lifetimeSeconds: this.tokenLifetime,
        now: this.now(),
      });
      s.attested = { token, claims };
      this.counters.attest_ok++;
      const headers: Record<string, string> = { 'set-cookie': this.cookieHeader(s) };
      const cpu0 = claims.submods.cpu0!;
      if (s.tee === 'sample') {
        headers[INSECURE_HEADER] = INSECURE_NOTICE;
        this.log.warn(
          { tee: s.tee, status: cpu0['ear.status'], insecure: INSECURE_NOTICE },
          'RCAR attest: sample TEE attested (INSECURE)',
        );
      } else {
        this.log.info({ tee: s.tee, status: cpu0['ear.status'] }, 'RCAR attest: attested');
      }
      this.send(ctx.res, 200, { token }, headers);
    } catch (e) {
      this.counters.attest_failed++;
      throw e;
    }
  }

  private async verifyAttestation(s: Session, body: Record<string, unknown>, what: string): Promise<EarClaims> {
    const rd = body['runtime-data'] as Record<string, unknown> | undefined;
    if (!rd || typeof rd !== 'object')
      throw new KbsError('InvalidRequest', `${what}: runtime-data is missing (protocol ${KBS_PROTOCOL_VERSION})`);
    if (typeof rd.nonce !== 'string' || rd.nonce !== s.nonce) {
      throw new KbsError('NonceMismatch', `${what}: runtime-data.nonce does not match the session's challenge`);
    }
    let teePubkey;
    try {
      teePubkey = importTeePubkey(rd['tee-pubkey']).jwk;
    } catch (e) {
      throw new KbsError('InvalidRequest', `${what}: ${(e as Error).message}`);
    }
    const te = body['tee-evidence'] as Record<string, unknown> | undefined;
    if (!te || typeof te !== 'object' || !('primary_evidence' in te)) {
      throw new KbsError('InvalidRequest', `${what}: tee-evidence.primary_evidence is missing`);
    }
    const additional = te.additional_evidence ?? '';
    if (typeof additional !== 'string')
      throw new KbsError('InvalidRequest', `${what}: tee-evidence.additional_evidence must be a JSON string`);
    let initdata;
    try {
      initdata = parseAttestationInitData(body['init-data']);
    } catch (e) {
      throw new KbsError('InvalidRequest', `${what}: ${(e as Error).message}`);
    }
    const verifier = this.verifiers[s.tee];
    if (!verifier) throw new KbsError('AttestationFailed', `${what}: no verifier for tee "${s.tee}"`);
    const nonce = s.nonce;
    const primaryDigest = runtimeDataDigest(primaryRuntimeData(nonce, teePubkey, additional), s.hashAlgorithm);
    const now = this.now();
    let verified;
    try {
      verified = await verifier({
        tee: s.tee,
        evidence: te.primary_evidence,
        expectedReportData: primaryDigest,
        ...(initdata ? { initdataDigest: initdata.digest } : {}),
        now,
      });
    } catch (e) {
      throw new KbsError('AttestationFailed', `${what}: ${s.tee} evidence: ${(e as Error).message}`);
    }
    const annotated: Record<string, unknown> = {
      [s.tee]: verified.claims,
      report_data: verified.reportData.toString('hex'),
      runtime_data_claims: { nonce, 'tee-pubkey': teePubkey },
    };
    if (initdata) {
      annotated.init_data = initdata.digest.toString('hex');
      annotated.init_data_claims = initDataClaims(initdata);
    }
    const submods: Record<string, Submod> = { cpu0: await this.submod(annotated, s.tee, what) };
    if (additional !== '') {
      let extra: unknown;
      try {
        extra = JSON.parse(additional);
      } catch {
        throw new KbsError('InvalidRequest', `${what}: additional_evidence is not a JSON object string`);
      }
      if (!extra || typeof extra !== 'object' || Array.isArray(extra)) {
        throw new KbsError('InvalidRequest', `${what}: additional_evidence must encode an object keyed by TEE name`);
      }
      const deviceDigest = runtimeDataDigest(deviceRuntimeData(nonce, teePubkey), s.hashAlgorithm);
      let gpu = 0;
      for (const [tee, ev] of Object.entries(extra as Record<string, unknown>)) {
        const v = this.verifiers[tee];
        if (!v) throw new KbsError('AttestationFailed', `${what}: no verifier for additional evidence "${tee}"`);
        let dv;
        try {
          dv = await v({ tee, evidence: ev, expectedReportData: deviceDigest, now });
        } catch (e) {
          throw new KbsError('AttestationFailed', `${what}: ${tee} evidence: ${(e as Error).message}`);
        }
        const ann = {
          [tee]: dv.claims,
          report_data: dv.reportData.toString('hex'),
          runtime_data_claims: { nonce, 'tee-pubkey': teePubkey },
        };
        submods[`gpu${gpu++}`] = await this.submod(ann, tee, what);
      }
    }
    return { submods } as unknown as EarClaims;
  }

  private async submod(annotated: Record<string, unknown>, tee: string, what: string): Promise<Submod> {
    let appraisal;
    try {
      appraisal = await this.opts.policy.appraise(annotated, tee);
    } catch (e) {
      this.log.error({ tee, err: (e as Error).message }, 'attestation policy evaluation failed');
      throw new KbsError('PolicyEngineError', `${what}: attestation policy evaluation failed`);
    }
    return {
      'ear.status': earStatus(appraisal.trustVector),
      'ear.trustworthiness-vector': appraisal.trustVector,
      'ear.appraisal-policy-id': appraisal.policyId,
      [EAR_ANNOTATED_EVIDENCE]: annotated,
    } as Submod;
  }

  private async tokenClaims(ctx: Ctx): Promise<{ claims: EarClaims }> {
    const authz = ctx.req.headers.authorization;
    if (authz) {
      const m = /^Bearer\s+([A-Za-z0-9_.-]+)$/.exec(authz);
      if (!m) throw new KbsError('TokenInvalid', 'Authorization header is not "Bearer <attestation token>"');
      try {
        return { claims: await verifyEarToken(m[1]!, this.signer.publicKey, this.now()) };
      } catch (e) {
        throw new KbsError('TokenInvalid', `attestation token rejected: ${(e as Error).message}`);
      }
    }
    const id = readCookie(ctx.req.headers.cookie, KBS_SESSION_COOKIE);
    if (!id)
      throw new KbsError(
        'TokenNotFound',
        'no attestation token: send the kbs-session-id cookie of an attested session or Authorization: Bearer <token>',
      );
    const s = this.sessions.get(id);
    if (s === undefined) throw new KbsError('InvalidCookie', `unknown ${KBS_SESSION_COOKIE} (call /auth again)`);
    if (s === 'expired') throw new KbsError('ExpiredCookie', 'the session expired (call /auth again)');
    if (!s.attested) throw new KbsError('TokenNotFound', 'the session is not attested (call /attest first)');
    try {
      return { claims: await verifyEarToken(s.attested.token, this.signer.publicKey, this.now()) };
    } catch (e) {
      throw new KbsError('TokenInvalid', `the session's attestation token is no longer valid: ${(e as Error).message}`);
    }
  }

  private async getResource(ctx: Ctx, parts: string[]): Promise<void> {
    const path = validateResourcePath(parts);
    const { claims } = await this.tokenClaims(ctx);
    const teePubkey = teePubkeyFromClaims(claims);
    if (!teePubkey) throw new KbsError('TokenInvalid', 'the attestation token carries no tee-pubkey');
    const query: Record<string, string> = Object.fromEntries(ctx.query.entries());
    let allowed: boolean;
    try {
      allowed = await this.opts.policy.allowResource(claims, { plugin: 'resource', resourcePath: path, query });
    } catch (e) {
      this.log.error({ path: path.join('/'), err: (e as Error).message }, 'resource policy evaluation failed');
      throw new KbsError('PolicyEngineError', 'resource policy evaluation failed');
    }
    const cpu0 = claims.submods?.cpu0;
    const isSample = !!cpu0 && 'sample' in (cpu0[EAR_ANNOTATED_EVIDENCE] ?? {});
    if (!allowed) {
      this.counters.resource_denied++;
      throw new KbsError('PolicyDeny', `resource policy denied access to ${path.join('/')}`);
    }
    const value = await this.store.get(path);
    if (!value) throw new KbsError('ResourceNotFound', `resource ${path.join('/')} not found`, { status: 404 });
    const jwe = encryptToTeePubkey(value, teePubkey);
    this.counters.resource_ok++;
    const headers: Record<string, string> = {};
    if (isSample) {
      headers[INSECURE_HEADER] = INSECURE_NOTICE;
      this.log.warn(
        { path: path.join('/'), insecure: INSECURE_NOTICE },
        'resource released to the sample TEE (INSECURE)',
      );
    } else {
      this.log.info({ path: path.join('/') }, 'resource released');
    }
    this.send(ctx.res, 200, jwe, headers);
  }

  private async admin(ctx: Ctx): Promise<void> {
    const reason = await checkAdmin(this.opts.admin, ctx.req.headers.authorization, this.now());
    if (reason) throw new KbsError('AdminAuthAccess', reason);
  }

  private async setResource(ctx: Ctx, parts: string[]): Promise<void> {
    await this.admin(ctx);
    const path = validateResourcePath(parts);
    const value = await this.body(ctx.req);
    await this.store.set(path, value);
    this.log.info({ path: path.join('/'), bytes: value.length }, 'admin: resource set');
    ctx.res.writeHead(200).end();
  }

  private async deleteResource(ctx: Ctx, parts: string[]): Promise<void> {
    await this.admin(ctx);
    const path = validateResourcePath(parts);
    if (!(await this.store.delete(path)))
      throw new KbsError('ResourceNotFound', `resource ${path.join('/')} not found`, { status: 404 });
    this.log.info({ path: path.join('/') }, 'admin: resource deleted');
    ctx.res.writeHead(200).end();
  }

  private async setAttestationPolicy(ctx: Ctx): Promise<void> {
    await this.admin(ctx);
    const b = await this.json(ctx.req, 'attestation policy');
    if (b.type !== undefined && b.type !== 'rego')
      throw new KbsError('InvalidRequest', `attestation policy type must be "rego"`);
    const id = typeof b.policy_id === 'string' && /^[A-Za-z0-9_.-]{1,64}$/.test(b.policy_id) ? b.policy_id : undefined;
    if (!id) throw new KbsError('InvalidRequest', 'attestation policy: policy_id must match [A-Za-z0-9_.-]{1,64}');
    const text = b64urlText(b.policy, 'attestation policy: policy');
    try {
      await this.opts.policy.setAttestationPolicy(id, text);
    } catch (e) {
      throw new KbsError('PolicyEngineError', `attestation policy ${id}: ${(e as Error).message}`);
    }
    this.log.info({ policy_id: id }, 'admin: attestation policy set');
    ctx.res.writeHead(200).end();
  }

  private async setResourcePolicy(ctx: Ctx): Promise<void> {
    await this.admin(ctx);
    const b = await this.json(ctx.req, 'resource policy');
    const text = b64urlText(b.policy, 'resource policy: policy');
    try {
      await this.opts.policy.setResourcePolicy(text);
    } catch (e) {
      throw new KbsError('PolicyEngineError', `resource policy: ${(e as Error).message}`);
    }
    this.log.info('admin: resource policy set');
    ctx.res.writeHead(200).end();
  }

  private async setReferenceValues(ctx: Ctx): Promise<void> {
    await this.admin(ctx);
    const b = await this.json(ctx.req, 'reference values');
    const problem = referenceValuesProblem(b);
    if (problem) throw new KbsError('InvalidRequest', `reference values: ${problem}`);
    this.opts.policy.setReferenceValues(b);
    this.log.info({ keys: Object.keys(b) }, 'admin: reference values set');
    ctx.res.writeHead(200).end();
  }
}
