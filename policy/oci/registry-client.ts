/**
 * OCI distribution client on undici: manifests (OCI + Docker schema 2), multi-arch index → one platform
 * (linux/amd64 by default), blobs as digest-verified streams, blob upload (POST + monolithic PUT) and manifest
 * push. Auth: anonymous, Basic, or Bearer tokens obtained from the `WWW-Authenticate` challenge with Docker-config
 * credentials. HTTPS always, except for registries listed as insecure.
 */
import type { Readable } from 'node:stream';
import { Agent, request, type Dispatcher } from 'undici';
import type { Logger } from 'pino';
import { parseAuthChallenge, type AuthChallenge } from './auth-challenge.js';
import { DigestVerifier, computeDigest, verifyDigest } from './digest.js';
import { anonymous, type CredentialLookup } from './docker-auth.js';
import { DigestMismatchError, OciAuthError, OciError } from './errors.js';
import { MANIFEST_ACCEPT, isIndexMediaType, isManifestMediaType } from './media-types.js';
import {
  DIGEST_PATTERN,
  formatImageReference,
  parseImageReference,
  referenceSelector,
  registryApiHost,
  type ImageReference,
} from './reference.js';
import type { Descriptor, ImageConfig, ImageIndex, ImageManifest, Platform, ResolvedImage } from './types.js';

export interface RegistryClientOptions {
  readonly credentials?: CredentialLookup;
  /** Registries (host[:port] as written in references) reached over plain HTTP. */
  readonly insecureRegistries?: readonly string[];
  /** Platform chosen from multi-arch indexes; default linux/amd64. */
  readonly platform?: Platform;
  readonly logger?: Logger;
  readonly dispatcher?: Dispatcher;
  /** Largest manifest / config document accepted (bytes); default 4 MiB. */
  readonly maxDocumentBytes?: number;
  /** Retries of idempotent requests on transient failures (default 3) and the first backoff (default 250 ms). */
  readonly retries?: number;
  readonly retryDelayMs?: number;
}

export const DEFAULT_PLATFORM: Platform = { os: 'linux', architecture: 'amd64' };

const RETRYABLE_STATUS = new Set([429, 502, 503, 504]);
const RETRYABLE_ERRORS = new Set([
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
]);

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

interface SendOptions {
  method: 'GET' | 'HEAD' | 'POST' | 'PUT';
  headers?: Record<string, string>;
  body?: Buffer;
  /** Actions for the token scope: "pull" or "pull,push". */
  actions: string;
  /** Status codes that are an answer (anything else is an error). */
  ok: readonly number[];
  what: string;
}

type Response = Dispatcher.ResponseData;

function header(res: Response, name: string): string | undefined {
  const v = res.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

export class RegistryClient {
  private readonly credentials: CredentialLookup;
  private readonly insecure: ReadonlySet<string>;
  private readonly platform: Platform;
  private readonly logger: Logger | undefined;
  private readonly dispatcher: Dispatcher;
  private readonly ownsDispatcher: boolean;
  private readonly maxDocumentBytes: number;
  private readonly retries: number;
  private readonly retryDelayMs: number;
  /** Authorization header per `registry|repository|actions`. */
  private readonly authCache = new Map<string, string>();

  constructor(opts: RegistryClientOptions = {}) {
    this.credentials = opts.credentials ?? anonymous;
    this.insecure = new Set(opts.insecureRegistries ?? []);
    this.platform = opts.platform ?? DEFAULT_PLATFORM;
    this.logger = opts.logger;
    this.ownsDispatcher = opts.dispatcher === undefined;
    this.dispatcher = opts.dispatcher ?? new Agent({ connections: 8, keepAliveTimeout: 4_000 });
    this.maxDocumentBytes = opts.maxDocumentBytes ?? 4 * 1024 * 1024;
    this.retries = opts.retries ?? 3;
    this.retryDelayMs = opts.retryDelayMs ?? 250;
  }

  async close(): Promise<void> {
    if (this.ownsDispatcher) await this.dispatcher.close();
  }

  private baseUrl(ref: ImageReference): string {
    const scheme = this.insecure.has(ref.registry) ? 'http' : 'https';
    return `${scheme}://${registryApiHost(ref.registry)}/v2/${ref.repository}`;
  }

  /** Manifest (or index) bytes by tag or digest; the digest is always computed and checked. */
  async fetchManifest(
    ref: ImageReference,
    selector = referenceSelector(ref),
  ): Promise<{ bytes: Buffer; mediaType: string; digest: string }> {
    const what = `manifest ${formatImageReference(ref)}${selector !== referenceSelector(ref) ? ` (${selector})` : ''}`;
    const res = await this.send(ref, `${this.baseUrl(ref)}/manifests/${selector}`, {
      method: 'GET',
      headers: { accept: MANIFEST_ACCEPT },
      actions: 'pull',
      ok: [200],
      what,
    });
    const bytes = await this.readLimited(res, what);
    const digest = computeDigest(bytes);
    if (DIGEST_PATTERN.test(selector)) verifyDigest(bytes, selector, what);
    else {
      const claimed = header(res, 'docker-content-digest');
      if (claimed && claimed.startsWith('sha256:') && claimed !== digest)
        throw new DigestMismatchError(claimed, digest, what);
    }
    let mediaType = (header(res, 'content-type') ?? '').split(';')[0]!.trim();
    const doc = this.parseJson(bytes, what) as { mediaType?: unknown };
    if (typeof doc.mediaType === 'string') mediaType = doc.mediaType;
    return { bytes, mediaType, digest };
  }

  /** Resolves a reference to one platform manifest and its config (all digests verified). */
  async resolveImage(reference: string | ImageReference): Promise<ResolvedImage> {
    const ref = typeof reference === 'string' ? parseImageReference(reference) : reference;
    const name = formatImageReference(ref);
    let fetched = await this.fetchManifest(ref);
    let indexDigest: string | undefined;
    for (let depth = 0; isIndexMediaType(fetched.mediaType) || this.looksLikeIndex(fetched.bytes); depth++) {
      if (depth >= 2) throw new OciError(`${name}: nested image indexes are too deep`, { reference: name });
      const index = this.parseJson(fetched.bytes, `index ${name}`) as ImageIndex;
      if (!Array.isArray(index.manifests))
        throw new OciError(`${name}: image index has no "manifests" array`, { reference: name });
      indexDigest ??= fetched.digest;
      const chosen = this.choosePlatform(index.manifests, name);
      fetched = await this.fetchManifest(ref, chosen.digest);
    }
    if (!isManifestMediaType(fetched.mediaType)) {
      throw new OciError(
        `${name}: unsupported manifest media type "${fetched.mediaType}" (expected OCI or Docker schema 2)`,
        { reference: name },
      );
    }
    const manifest = this.parseJson(fetched.bytes, `manifest ${name}`) as ImageManifest;
    if (manifest.schemaVersion !== 2 || !manifest.config || !Array.isArray(manifest.layers)) {
      throw new OciError(`${name}: manifest must have schemaVersion 2, a config and a layers array`, {
        reference: name,
      });
    }
    for (const d of [manifest.config, ...manifest.layers]) this.checkDescriptor(d, name);
    const configBytes = await this.fetchBlob(ref, manifest.config);
    const config = this.parseJson(configBytes, `config ${manifest.config.digest} of ${name}`) as ImageConfig;
    if (!config.rootfs || !Array.isArray(config.rootfs.diff_ids)) {
      throw new OciError(`${name}: image config has no rootfs.diff_ids`, { reference: name });
    }
    if (config.rootfs.diff_ids.length !== manifest.layers.length) {
      throw new OciError(
        `${name}: manifest has ${manifest.layers.length} layers but the config lists ${config.rootfs.diff_ids.length} diff_ids`,
        { reference: name },
      );
    }
    for (const id of config.rootfs.diff_ids) {
      if (typeof id !== 'string' || !DIGEST_PATTERN.test(id))
        throw new OciError(`${name}: malformed diff_id "${String(id)}"`, { reference: name });
    }
    return {
      reference: name,
      manifestDigest: fetched.digest,
      ...(indexDigest ? { indexDigest } : {}),
      manifest,
      configDigest: manifest.config.digest,
      config,
    };
  }

  /** A blob as a stream that errors (instead of ending) if the content does not match the descriptor. */
  async openBlob(ref: ImageReference, desc: Pick<Descriptor, 'digest'> & { size?: number }): Promise<Readable> {
    const what = `blob ${desc.digest} of ${formatImageReference(ref)}`;
    const res = await this.send(ref, `${this.baseUrl(ref)}/blobs/${desc.digest}`, {
      method: 'GET',
      actions: 'pull',
      ok: [200],
      what,
    });
    const verifier = new DigestVerifier(desc.digest, what, desc.size);
    res.body.on('error', (e) => verifier.destroy(e));
    return res.body.pipe(verifier);
  }

  /** A small blob in memory (configs); digest-verified. */
  async fetchBlob(ref: ImageReference, desc: Pick<Descriptor, 'digest' | 'size'>): Promise<Buffer> {
    const what = `blob ${desc.digest} of ${formatImageReference(ref)}`;
    if (desc.size > this.maxDocumentBytes)
      throw new OciError(`${what} is ${desc.size} bytes, over the ${this.maxDocumentBytes} limit`);
    const res = await this.send(ref, `${this.baseUrl(ref)}/blobs/${desc.digest}`, {
      method: 'GET',
      actions: 'pull',
      ok: [200],
      what,
    });
    const bytes = await this.readLimited(res, what);
    verifyDigest(bytes, desc.digest, what);
    return bytes;
  }

  async blobExists(ref: ImageReference, digest: string): Promise<boolean> {
    const res = await this.send(ref, `${this.baseUrl(ref)}/blobs/${digest}`, {
      method: 'HEAD',
      actions: 'pull,push',
      ok: [200, 404],
      what: `blob ${digest}`,
    });
    await res.body.dump();
    return res.statusCode === 200;
  }

  /** Uploads a blob (POST to start, monolithic PUT with the digest); skips it when already present. */
  async pushBlob(ref: ImageReference, bytes: Buffer): Promise<string> {
    const digest = computeDigest(bytes);
    if (await this.blobExists(ref, digest)) return digest;
    const what = `upload of ${digest} to ${formatImageReference(ref)}`;
    const start = await this.send(ref, `${this.baseUrl(ref)}/blobs/uploads/`, {
      method: 'POST',
      actions: 'pull,push',
      ok: [202],
      what,
    });
    await start.body.dump();
    const location = header(start, 'location');
    if (!location) throw new OciError(`${what}: registry gave no upload Location`, { registry: ref.registry });
    const url = new URL(location, `${this.baseUrl(ref)}/`);
    url.searchParams.set('digest', digest);
    const put = await this.send(ref, url.toString(), {
      method: 'PUT',
      headers: { 'content-type': 'application/octet-stream', 'content-length': String(bytes.length) },
      body: bytes,
      actions: 'pull,push',
      ok: [201],
      what,
    });
    await put.body.dump();
    return digest;
  }

  /** PUT a manifest or index under a tag (or its digest); returns the digest. */
  async pushManifest(ref: ImageReference, bytes: Buffer, mediaType: string, tag = ref.tag): Promise<string> {
    const digest = computeDigest(bytes);
    const selector = tag ?? digest;
    const res = await this.send(ref, `${this.baseUrl(ref)}/manifests/${selector}`, {
      method: 'PUT',
      headers: { 'content-type': mediaType },
      body: bytes,
      actions: 'pull,push',
      ok: [201],
      what: `manifest push ${formatImageReference(ref)}`,
    });
    await res.body.dump();
    const claimed = header(res, 'docker-content-digest');
    if (claimed && claimed !== digest) throw new DigestMismatchError(digest, claimed, `pushed manifest ${selector}`);
    return digest;
  }

  private looksLikeIndex(bytes: Buffer): boolean {
    try {
      const d = JSON.parse(bytes.toString('utf8')) as { manifests?: unknown; layers?: unknown };
      return Array.isArray(d.manifests) && d.layers === undefined;
    } catch {
      return false;
    }
  }

  private choosePlatform(manifests: readonly Descriptor[], name: string): Descriptor {
    const want = this.platform;
    const match = manifests.find(
      (m) =>
        m.platform?.os === want.os &&
        m.platform.architecture === want.architecture &&
        (want.variant === undefined || m.platform.variant === want.variant),
    );
    if (!match) {
      const have = manifests.map((m) =>
        m.platform
          ? `${m.platform.os}/${m.platform.architecture}${m.platform.variant ? `/${m.platform.variant}` : ''}`
          : '?',
      );
      throw new OciError(
        `${name}: image index has no ${want.os}/${want.architecture} manifest (has: ${have.join(', ') || 'none'})`,
        {
          reference: name,
        },
      );
    }
    this.checkDescriptor(match, name);
    return match;
  }

  private checkDescriptor(d: Descriptor, name: string): void {
    if (
      !d ||
      typeof d.digest !== 'string' ||
      !DIGEST_PATTERN.test(d.digest) ||
      typeof d.size !== 'number' ||
      d.size < 0
    ) {
      throw new OciError(`${name}: malformed descriptor ${JSON.stringify(d)}`, { reference: name });
    }
  }

  private parseJson(bytes: Buffer, what: string): unknown {
    try {
      return JSON.parse(bytes.toString('utf8'));
    } catch (e) {
      throw new OciError(`${what} is not valid JSON: ${(e as Error).message}`);
    }
  }

  private async readLimited(res: Response, what: string): Promise<Buffer> {
    const chunks: Buffer[] = [];
    let total = 0;
    for await (const chunk of res.body as AsyncIterable<Buffer>) {
      total += chunk.length;
      if (total > this.maxDocumentBytes) {
        res.body.destroy();
        throw new OciError(`${what} is larger than ${this.maxDocumentBytes} bytes`);
      }
      chunks.push(chunk);
    }
    return Buffer.concat(chunks);
  }

  /** One request with auth (challenge → token → retry once) and redirects (auth dropped across hosts). */
  private async send(ref: ImageReference, url: string, opts: SendOptions): Promise<Response> {
    const cacheKey = `${ref.registry}|${ref.repository}|${opts.actions}`;
    let authorization = this.authCache.get(cacheKey);
    for (let attempt = 0; attempt < 2; attempt++) {
      const res = await this.follow(url, opts, authorization);
      if (res.statusCode !== 401) {
        if (opts.ok.includes(res.statusCode)) return res;
        const text = await res.body.text().catch(() => '');
        throw new OciError(
          `${opts.what}: registry ${ref.registry} answered HTTP ${res.statusCode}${text ? `: ${text.slice(0, 300)}` : ''}`,
          {
            registry: ref.registry,
            reference: formatImageReference(ref),
            status: res.statusCode,
          },
        );
      }
      await res.body.dump();
      if (attempt === 1) break;
      const challenge = parseAuthChallenge(res.headers['www-authenticate']);
      authorization = await this.authorize(ref, challenge, opts.actions);
      this.authCache.set(cacheKey, authorization);
    }
    const creds = this.credentials(ref.registry);
    throw new OciAuthError(
      `${opts.what}: registry ${ref.registry} refused access (HTTP 401) ${creds ? `with the credentials for ${ref.registry} from the docker config` : 'anonymously; are docker credentials set up (docker login / DOCKER_CONFIG)?'}`,
      { registry: ref.registry, reference: formatImageReference(ref), status: 401 },
    );
  }

  private async follow(url: string, opts: SendOptions, authorization: string | undefined): Promise<Response> {
    let current = url;
    const origin = new URL(url).host;
    for (let hop = 0; hop < 6; hop++) {
      const headers: Record<string, string> = { 'user-agent': 'ccgpu-genpolicy', ...(opts.headers ?? {}) };
      if (authorization && new URL(current).host === origin) headers.authorization = authorization;
      const res = await this.requestWithRetry(current, opts, headers);
      const location = header(res, 'location');
      if ([301, 302, 303, 307, 308].includes(res.statusCode) && location && opts.method !== 'POST') {
        await res.body.dump();
        current = new URL(location, current).toString();
        continue;
      }
      return res;
    }
    throw new OciError(`${opts.what}: too many redirects`);
  }

  /**
   * One HTTP exchange; idempotent requests (GET/HEAD) are retried with exponential backoff on connection
   * resets/timeouts and on 429/502/503/504 answers (registries and their CDNs are flaky).
   */
  private async requestWithRetry(url: string, opts: SendOptions, headers: Record<string, string>): Promise<Response> {
    const idempotent = opts.method === 'GET' || opts.method === 'HEAD';
    for (let attempt = 0; ; attempt++) {
      const last = !idempotent || attempt >= this.retries;
      let res: Response;
      try {
        res = await request(url, {
          method: opts.method,
          headers,
          ...(opts.body ? { body: opts.body } : {}),
          dispatcher: this.dispatcher,
        });
      } catch (e) {
        const code = (e as { code?: string }).code ?? '';
        if (last || !RETRYABLE_ERRORS.has(code)) {
          throw new OciError(`${opts.what}: cannot reach ${new URL(url).host}: ${(e as Error).message}`, {}, e);
        }
        this.logger?.debug({ url, code, attempt }, 'registry request failed, retrying');
        await sleep(this.retryDelayMs * 2 ** attempt);
        continue;
      }
      if (!last && RETRYABLE_STATUS.has(res.statusCode)) {
        await res.body.dump();
        this.logger?.debug({ url, status: res.statusCode, attempt }, 'registry busy, retrying');
        await sleep(this.retryDelayMs * 2 ** attempt);
        continue;
      }
      return res;
    }
  }

  private async authorize(ref: ImageReference, challenge: AuthChallenge | undefined, actions: string): Promise<string> {
    const creds = this.credentials(ref.registry);
    const basic = creds ? `Basic ${Buffer.from(`${creds.username}:${creds.password}`).toString('base64')}` : undefined;
    if (!challenge || challenge.scheme === 'basic') {
      if (!basic)
        throw new OciAuthError(`registry ${ref.registry} requires credentials and the docker config has none for it`, {
          registry: ref.registry,
        });
      return basic;
    }
    if (challenge.scheme !== 'bearer') {
      throw new OciAuthError(`registry ${ref.registry} asks for unsupported auth scheme "${challenge.scheme}"`, {
        registry: ref.registry,
      });
    }
    const realm = challenge.params.realm;
    if (!realm)
      throw new OciAuthError(`registry ${ref.registry}: Bearer challenge without realm`, { registry: ref.registry });
    const tokenUrl = new URL(realm);
    if (tokenUrl.protocol !== 'https:' && !(tokenUrl.protocol === 'http:' && this.insecure.has(ref.registry))) {
      throw new OciAuthError(`registry ${ref.registry}: token realm ${realm} is not HTTPS`, { registry: ref.registry });
    }
    if (challenge.params.service) tokenUrl.searchParams.set('service', challenge.params.service);
    tokenUrl.searchParams.set('scope', `repository:${ref.repository}:${actions}`);
    this.logger?.debug(
      { registry: ref.registry, realm, scope: tokenUrl.searchParams.get('scope') },
      'fetching registry token',
    );
    let res: Response;
    try {
      res = await request(tokenUrl, {
        method: 'GET',
        headers: basic ? { authorization: basic } : {},
        dispatcher: this.dispatcher,
      });
    } catch (e) {
      throw new OciAuthError(
        `registry ${ref.registry}: token service ${tokenUrl.host} unreachable: ${(e as Error).message}`,
        { registry: ref.registry },
      );
    }
    if (res.statusCode !== 200) {
      await res.body.dump();
      throw new OciAuthError(
        `registry ${ref.registry}: token service answered HTTP ${res.statusCode}${creds ? '' : '; are docker credentials set up?'}`,
        { registry: ref.registry, status: res.statusCode },
      );
    }
    const body = (await res.body.json().catch(() => ({}))) as { token?: unknown; access_token?: unknown };
    const token =
      typeof body.token === 'string'
        ? body.token
        : typeof body.access_token === 'string'
          ? body.access_token
          : undefined;
    if (!token)
      throw new OciAuthError(`registry ${ref.registry}: token service gave no token`, { registry: ref.registry });
    return `Bearer ${token}`;
  }
}
