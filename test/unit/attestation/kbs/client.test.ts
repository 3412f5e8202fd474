import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SampleAttester } from '../../../../attestation/agent/sample-attester.js';
import {
  AllowListKbsPolicy,
  KbsClient,
  KbsError,
  KbsServer,
  KbsUnavailableError,
  parseResourcePath,
} from '../../../../attestation/kbs/index.js';

let dir: string;
let kbs: KbsServer;
let proxy: http.Server;
let base: string;
const seen: string[] = [];
let failNext = 0;
let dropAttest = 0;
let serverError = 0;

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'kbs-client-'));
  kbs = new KbsServer({
    resourceDir: dir,
    policy: new AllowListKbsPolicy([{ path: 'default/key/*', tees: ['sample'] }]),
    admin: { mode: 'insecure-allow-all' },
    tokenLifetimeSeconds: 60,
  });
  await kbs.listen(0);
  await kbs.store.set(['default', 'key', 'a'], Buffer.from('secret-a'));
  await kbs.store.set(['default', 'other', 'b'], Buffer.from('secret-b'));
  // a counting front: records each request and can drop connections (network errors)
  proxy = http.createServer((req, res) => {
    seen.push(`${req.method} ${req.url}`);
    if (failNext > 0) {
      failNext--;
      req.socket.destroy();
      return;
    }
    if (dropAttest > 0 && req.url?.endsWith('/attest')) {
      // the body reaches the KBS (the nonce is consumed), then the connection dies before the answer
      dropAttest--;
      res.end = (() => {
        req.socket.destroy();
        return res;
      }) as typeof res.end;
      void kbs.handle(req, res);
      return;
    }
    if (serverError > 0) {
      serverError--;
      res
        .writeHead(503, { 'content-type': 'application/json' })
        .end(
          '{"type":"https://github.com/confidential-containers/kbs/errors/PluginInternalError","detail":"overloaded"}',
        );
      return;
    }
    void kbs.handle(req, res);
  });
  await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', () => r()));
  base = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await kbs.close();
  await new Promise((r) => proxy.close(r));
  rmSync(dir, { recursive: true, force: true });
});

const client = (opts: Partial<ConstructorParameters<typeof KbsClient>[0]> = {}) =>
  new KbsClient({
    url: base,
    attester: new SampleAttester(),
    retry: { attempts: 4, baseDelayMs: 5, maxDelayMs: 20 },
    ...opts,
  });

describe('KBS client', () => {
  it('runs RCAR once and caches the token until it expires', async () => {
    seen.length = 0;
    const c = client();
    expect((await c.getResource('kbs:///default/key/a')).toString()).toBe('secret-a');
    expect((await c.getResource('default/key/a')).toString()).toBe('secret-a');
    expect(seen.filter((s) => s.endsWith('/auth')).length).toBe(1);
    expect(seen.filter((s) => s.endsWith('/attest')).length).toBe(1);
    // past expiry (token lifetime 60 s), a new handshake happens
    const later = client({ now: () => Date.now() + 120_000 });
    seen.length = 0;
    await later.getResource('default/key/a');
    await later.getResource('default/key/a');
    expect(seen.filter((s) => s.endsWith('/auth')).length).toBe(2);
  });

  it('retries network errors with backoff', async () => {
    seen.length = 0;
    failNext = 2;
    const c = client();
    expect((await c.getResource('default/key/a')).toString()).toBe('secret-a');
    expect(seen.filter((s) => s.endsWith('/auth')).length).toBe(3);
  });

  it('a connection lost during /attest restarts the handshake with a new nonce (never a replay)', async () => {
    seen.length = 0;
    dropAttest = 1;
    const c = client();
    expect((await c.getResource('default/key/a')).toString()).toBe('secret-a');
    expect(seen.map((s) => s.split(' ')[1])).toEqual([
      '/kbs/v0/auth',
      '/kbs/v0/attest',
      '/kbs/v0/auth',
      '/kbs/v0/attest',
      '/kbs/v0/resource/default/key/a',
    ]);
  });

  it('does not retry a 5xx answer (only network errors are retried)', async () => {
    const c = client();
    await c.getToken();
    seen.length = 0;
    serverError = 1;
    const err = await c.getResource('default/key/a').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KbsError);
    expect((err as KbsError).status).toBe(503);
    expect((err as KbsError).message).toMatch(/overloaded/);
    expect(seen).toEqual(['GET /kbs/v0/resource/default/key/a']);
  });

  it('gives up with a clear error when the KBS is unreachable', async () => {
    const c = new KbsClient({
      url: 'http://127.0.0.1:1',
      attester: new SampleAttester(),
      retry: { attempts: 2, baseDelayMs: 1 },
    });
    await expect(c.getResource('default/key/a')).rejects.toThrow(KbsUnavailableError);
    await expect(c.getResource('default/key/a')).rejects.toThrow(/unreachable after 2 attempt/);
  });

  it('never retries a policy denial', async () => {
    const c = client();
    await c.getToken();
    seen.length = 0;
    const err = await c.getResource('default/other/b').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KbsError);
    expect((err as KbsError).variant).toBe('PolicyDeny');
    expect(seen).toEqual(['GET /kbs/v0/resource/default/other/b']);
  });

  it('re-attests once when the token is refused', async () => {
    const c = client();
    await c.getToken();
    // a restarted KBS has a new signing key: the old token is invalid
    const kbs2 = new KbsServer({
      resourceDir: dir,
      policy: new AllowListKbsPolicy([{ path: 'default/key/*', tees: ['sample'] }]),
      admin: { mode: 'deny-all' },
    });
    const old = kbs;
    kbs = kbs2;
    try {
      seen.length = 0;
      expect((await c.getResource('default/key/a')).toString()).toBe('secret-a');
      expect(seen.map((s) => s.split(' ')[1])).toEqual([
        '/kbs/v0/resource/default/key/a',
        '/kbs/v0/auth',
        '/kbs/v0/attest',
        '/kbs/v0/resource/default/key/a',
      ]);
    } finally {
      kbs = old;
    }
  });

  it('reports attestation failures as KbsError without retrying', async () => {
    const bad = {
      tee: 'sample',
      getEvidence: async () => ({ svn: '1', report_data: Buffer.alloc(48).toString('base64') }),
    };
    seen.length = 0;
    const err = await client({ attester: bad })
      .getToken()
      .catch((e: unknown) => e);
    expect((err as KbsError).variant).toBe('AttestationFailed');
    expect((err as Error).message).toMatch(/RCAR handshake Attest failed/);
    expect(seen.length).toBe(2);
  });

  it('parses resource URIs', () => {
    expect(parseResourcePath('kbs:///default/key/a')).toEqual(['default', 'key', 'a']);
    expect(parseResourcePath('kbs://example.org:8080/r/t/g')).toEqual(['r', 't', 'g']);
    expect(() => parseResourcePath('kbs:///a/b')).toThrow(/repository>\/<type>\/<tag>/);
    expect(() => parseResourcePath('kbs:///a/../b')).toThrow(/segment/);
    expect(() => parseResourcePath('kbs:a/b/c')).toThrow(/kbs:\/\/\//);
  });
});
