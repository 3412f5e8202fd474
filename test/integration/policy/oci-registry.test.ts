/**
 * OCI client against a real local registry (docker-registry started by the test): push with our own uploads,
 * resolve a multi-arch index to linux/amd64, stream layers for /etc/passwd + /etc/group, diff_id-keyed cache,
 * digest verification (tampered blob), Bearer-token auth from a Docker config.
 */
import { createServer, type Server } from 'node:http';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DigestMismatchError,
  OciAuthError,
  OciError,
  RegistryClient,
  loadDockerCredentials,
} from '../../../policy/oci/index.js';
import { LayersCache, RegistryImageSource } from '../../../policy/genpolicy/index.js';
import {
  GROUP,
  PASSWD,
  blobDataPath,
  buildLayer,
  busyboxLayer,
  busyboxPath,
  freePort,
  haveRegistry,
  pushImage,
  pushMultiArch,
  startRegistry,
  usersLayer,
  type LocalRegistry,
} from '../../fixtures/registry/index.js';

const have = haveRegistry() && busyboxPath() !== undefined;
if (!have) console.warn('skipping OCI registry tests: /usr/bin/docker-registry or busybox is not installed');

describe.skipIf(!have)('OCI client against a local docker-registry', () => {
  let reg: LocalRegistry;
  let client: RegistryClient;
  const tmp = mkdtempSync(path.join(tmpdir(), 'ccgpu-oci-test-'));

  beforeAll(async () => {
    reg = await startRegistry();
    client = new RegistryClient({ insecureRegistries: [reg.host] });
  });
  afterAll(async () => {
    await client?.close();
    await reg?.stop();
    rmSync(tmp, { recursive: true, force: true });
  });

  it('resolves a multi-arch index to linux/amd64 and reads the config', async () => {
    const amd = {
      layers: [busyboxLayer(), usersLayer()],
      config: {
        Entrypoint: ['/bin/sh'],
        Cmd: ['-c', 'echo amd64'],
        Env: ['PATH=/bin'],
        User: 'app',
        WorkingDir: '/home/app',
      },
    };
    const arm = { layers: [busyboxLayer()], config: { Cmd: ['echo', 'arm64'] } };
    const pushed = await pushMultiArch(client, `${reg.host}/test/multi:1.0`, amd, arm);
    const img = await client.resolveImage(`${reg.host}/test/multi:1.0`);
    expect(img.indexDigest).toBe(pushed.indexDigest);
    expect(img.manifestDigest).toBe(pushed.manifestDigest);
    expect(img.config.architecture).toBe('amd64');
    expect(img.config.config?.Cmd).toEqual(['-c', 'echo amd64']);
    expect(img.config.config?.User).toBe('app');
    // pinned by digest too
    const byDigest = await client.resolveImage(`${reg.host}/test/multi@${pushed.indexDigest}`);
    expect(byDigest.manifestDigest).toBe(pushed.manifestDigest);
  });

  it('refuses an index without the wanted platform, naming what it has', async () => {
    const arm = { layers: [busyboxLayer()], config: {} };
    await pushMultiArch(client, `${reg.host}/test/armonly:1`, arm, arm);
    const armClient = new RegistryClient({
      insecureRegistries: [reg.host],
      platform: { os: 'linux', architecture: 's390x' },
    });
    await expect(armClient.resolveImage(`${reg.host}/test/armonly:1`)).rejects.toThrow(
      /no linux\/s390x manifest \(has: linux\/arm64\/v8, linux\/amd64\)/,
    );
    await armClient.close();
  });

  it('finds /etc/passwd and /etc/group from the top layer down and caches by diff_id', async () => {
    const lower = usersLayer('root:x:0:0::/root:/bin/sh\nold:x:5:5::/:/bin/sh\n', 'root:x:0:\n');
    const top = usersLayer();
    await pushImage(client, `${reg.host}/test/users:1`, {
      layers: [busyboxLayer(), lower, top],
      config: { Cmd: ['sh'] },
    });
    const cacheFile = path.join(tmp, 'layers-cache.json');
    const source = new RegistryImageSource({ client, cache: new LayersCache(cacheFile) });
    const info = await source.getImage(`${reg.host}/test/users:1`);
    expect(info.passwd).toBe(PASSWD);
    expect(info.group).toBe(GROUP);
    expect(source.layersDownloaded).toBe(1); // the top layer decided both files
    source.cache.save();
    const saved = JSON.parse(readFileSync(cacheFile, 'utf8')) as { layers: Record<string, unknown> };
    expect(Object.keys(saved.layers)).toEqual([top.diffId]);
    const again = new RegistryImageSource({ client, cache: new LayersCache(cacheFile) });
    const info2 = await again.getImage(`${reg.host}/test/users:1`);
    expect(info2.passwd).toBe(PASSWD);
    expect(again.layersDownloaded).toBe(0);
  });

  it('honours whiteouts and opaque directories', async () => {
    const whiteout = buildLayer([
      { path: 'etc', type: 'dir' },
      { path: 'etc/.wh.group', content: '' },
    ]);
    await pushImage(client, `${reg.host}/test/whiteout:1`, {
      layers: [busyboxLayer(), usersLayer(), whiteout],
      config: {},
    });
    const source = new RegistryImageSource({ client });
    const info = await source.getImage(`${reg.host}/test/whiteout:1`);
    expect(info.group).toBeUndefined();
    expect(info.passwd).toBe(PASSWD);
    expect(source.layersDownloaded).toBe(2);

    const opaque = buildLayer([
      { path: 'etc', type: 'dir' },
      { path: 'etc/.wh..wh..opq', content: '' },
      { path: 'etc/passwd', content: 'root:x:0:0::/:/bin/sh\n' },
    ]);
    await pushImage(client, `${reg.host}/test/opaque:1`, { layers: [usersLayer(), opaque], config: {} });
    const info2 = await new RegistryImageSource({ client }).getImage(`${reg.host}/test/opaque:1`);
    expect(info2.passwd).toBe('root:x:0:0::/:/bin/sh\n');
    expect(info2.group).toBeUndefined();
  });

  it('rejects a layer whose stored bytes were tampered with', async () => {
    const top = usersLayer('root:x:0:0::/:/bin/sh\n', 'root:x:0:\n');
    await pushImage(client, `${reg.host}/test/tampered:1`, { layers: [top], config: {} });
    const file = blobDataPath(reg, top.digest);
    const bytes = readFileSync(file);
    bytes[bytes.length - 20] = bytes[bytes.length - 20]! ^ 0xff;
    writeFileSync(file, bytes);
    const source = new RegistryImageSource({ client });
    await expect(source.getImage(`${reg.host}/test/tampered:1`)).rejects.toThrow(OciError);
  });

  it('rejects a config whose diff_ids do not match the layer content', async () => {
    const real = usersLayer('root:x:0:0::/:/bin/sh\n', 'root:x:0:\n');
    const other = usersLayer('evil:x:0:0::/:/bin/sh\n', 'root:x:0:\n');
    await pushImage(client, `${reg.host}/test/diffid:1`, { layers: [{ ...real, diffId: other.diffId }], config: {} });
    await expect(new RegistryImageSource({ client }).getImage(`${reg.host}/test/diffid:1`)).rejects.toThrow(
      DigestMismatchError,
    );
  });

  it('refuses plain HTTP for a registry not listed as insecure', async () => {
    const strict = new RegistryClient({});
    await expect(strict.resolveImage(`${reg.host}/test/users:1`)).rejects.toThrow(/cannot reach/);
    await strict.close();
  });

  describe('Bearer token auth in front of the registry', () => {
    let proxy: Server;
    let proxyHost: string;
    const seen: string[] = [];
    let failNext = 0;
    beforeAll(async () => {
      const port = await freePort();
      proxyHost = `127.0.0.1:${port}`;
      const basic = `Basic ${Buffer.from('alice:s3cret').toString('base64')}`;
      proxy = createServer((req, res) => {
        void (async () => {
          const url = new URL(req.url ?? '/', `http://${proxyHost}`);
          if (failNext > 0) {
            failNext--;
            res.writeHead(503).end('busy');
            return;
          }
          if (url.pathname === '/token') {
            seen.push(`token ${url.searchParams.get('service')} ${url.searchParams.get('scope')}`);
            if (req.headers.authorization !== basic) {
              res.writeHead(401).end();
              return;
            }
            res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ token: 'tok-123' }));
            return;
          }
          if (req.headers.authorization !== 'Bearer tok-123') {
            res
              .writeHead(401, {
                'www-authenticate': `Bearer realm="http://${proxyHost}/token",service="test-registry",scope="repository:x:pull"`,
              })
              .end();
            return;
          }
          const upstream = await request(`http://${reg.host}${req.url}`, {
            method: req.method as 'GET',
            headers: { accept: String(req.headers.accept ?? '*/*') },
          });
          const headers: Record<string, string> = {};
          for (const [k, v] of Object.entries(upstream.headers)) if (typeof v === 'string') headers[k] = v;
          res.writeHead(upstream.statusCode, headers);
          for await (const c of upstream.body) res.write(c);
          res.end();
        })().catch((e: unknown) => res.writeHead(500).end(String(e)));
      });
      await new Promise<void>((r) => proxy.listen(port, '127.0.0.1', () => r()));
    });
    afterAll(async () => {
      await new Promise((r) => proxy.close(r));
    });

    it('gets a token with Docker-config credentials and pulls', async () => {
      const dir = path.join(tmp, 'docker');
      const cfg = path.join(tmp, 'docker-config.json');
      writeFileSync(
        cfg,
        JSON.stringify({
          auths: { [`http://${proxyHost}/v2/`]: { auth: Buffer.from('alice:s3cret').toString('base64') } },
        }),
      );
      void dir;
      const authed = new RegistryClient({
        insecureRegistries: [proxyHost],
        credentials: loadDockerCredentials({ file: cfg }),
      });
      const img = await authed.resolveImage(`${proxyHost}/test/users:1`);
      expect(img.config.config?.Cmd).toEqual(['sh']);
      expect(seen).toContain('token test-registry repository:test/users:pull');
      await authed.close();
    });

    it('retries a busy registry (503) and then succeeds', async () => {
      const cfg = path.join(tmp, 'docker-config-retry.json');
      writeFileSync(cfg, JSON.stringify({ auths: { [proxyHost]: { username: 'alice', password: 's3cret' } } }));
      failNext = 2;
      const c = new RegistryClient({
        insecureRegistries: [proxyHost],
        credentials: loadDockerCredentials({ file: cfg }),
        retryDelayMs: 10,
      });
      const img = await c.resolveImage(`${proxyHost}/test/users:1`);
      expect(img.config.config?.Cmd).toEqual(['sh']);
      expect(failNext).toBe(0);
      failNext = 10;
      const c2 = new RegistryClient({
        insecureRegistries: [proxyHost],
        credentials: loadDockerCredentials({ file: cfg }),
        retries: 1,
        retryDelayMs: 10,
      });
      await expect(c2.resolveImage(`${proxyHost}/test/users:1`)).rejects.toThrow(/HTTP 503/);
      failNext = 0;
      await c.close();
      await c2.close();
    });

    it('fails with an auth error naming the registry when credentials are wrong or missing', async () => {
      const cfg = path.join(tmp, 'docker-config-bad.json');
      writeFileSync(cfg, JSON.stringify({ auths: { [proxyHost]: { username: 'alice', password: 'wrong' } } }));
      const bad = new RegistryClient({
        insecureRegistries: [proxyHost],
        credentials: loadDockerCredentials({ file: cfg }),
      });
      await expect(bad.resolveImage(`${proxyHost}/test/users:1`)).rejects.toThrow(OciAuthError);
      await bad.close();
      const anon = new RegistryClient({ insecureRegistries: [proxyHost] });
      await expect(anon.resolveImage(`${proxyHost}/test/users:1`)).rejects.toThrow(/are docker credentials set up/);
      await anon.close();
    });
  });
});
