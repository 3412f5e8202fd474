/** OCI client pieces that need no registry: references, Docker-config auth, challenges, digests, layer scanning. */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import {
  DigestMismatchError,
  DigestVerifier,
  computeDigest,
  credentialsFromDockerConfig,
  normaliseAuthKey,
  parseAuthChallenge,
  parseImageReference,
  scanLayer,
} from '../../../../policy/oci/index.js';
import { bigLayerTar, buildTar } from '../../../fixtures/registry/index.js';

describe('image references', () => {
  it('normalises Docker Hub names and keeps registries with ports', () => {
    expect(parseImageReference('busybox')).toEqual({
      registry: 'docker.io',
      repository: 'library/busybox',
      tag: 'latest',
    });
    expect(parseImageReference('quay.io/prometheus/busybox:latest')).toEqual({
      registry: 'quay.io',
      repository: 'prometheus/busybox',
      tag: 'latest',
    });
    expect(parseImageReference('localhost:5000/a/b:1.0')).toEqual({
      registry: 'localhost:5000',
      repository: 'a/b',
      tag: '1.0',
    });
    const d = 'sha256:' + 'a'.repeat(64);
    expect(parseImageReference(`registry.k8s.io/pause:3.6@${d}`)).toEqual({
      registry: 'registry.k8s.io',
      repository: 'pause',
      tag: '3.6',
      digest: d,
    });
    expect(parseImageReference(`nginx@${d}`)).toEqual({
      registry: 'docker.io',
      repository: 'library/nginx',
      digest: d,
    });
  });
  it('rejects malformed references with the reason', () => {
    expect(() => parseImageReference('Busybox')).toThrow(/repository component "Busybox" is invalid/);
    expect(() => parseImageReference('a@sha256:abc')).toThrow(/digest must be/);
    expect(() => parseImageReference('a:b c')).toThrow(/whitespace/);
  });
});

describe('Docker config credentials', () => {
  it('reads auth (base64 user:password) and username/password entries, normalising keys', () => {
    const lookup = credentialsFromDockerConfig(
      {
        auths: {
          'https://index.docker.io/v1/': { auth: Buffer.from('hub:pw:with:colons').toString('base64') },
          'nvcr.io': { username: '$oauthtoken', password: 'key' },
          'ghcr.io': { identitytoken: 'x' },
        },
      },
      'config.json',
    );
    expect(lookup('docker.io')).toEqual({ username: 'hub', password: 'pw:with:colons' });
    expect(lookup('nvcr.io')).toEqual({ username: '$oauthtoken', password: 'key' });
    expect(lookup('ghcr.io')).toBeUndefined();
    expect(normaliseAuthKey('http://127.0.0.1:5000/v2/')).toBe('127.0.0.1:5000');
  });
  it('rejects a malformed auth entry naming the file and key', () => {
    expect(() =>
      credentialsFromDockerConfig(
        { auths: { x: { auth: Buffer.from('nocolon').toString('base64') } } },
        '/h/.docker/config.json',
      ),
    ).toThrow(/\/h\/\.docker\/config\.json: auths\["x"\]\.auth is not base64/);
  });
});

describe('WWW-Authenticate', () => {
  it('parses Bearer parameters with quotes and commas', () => {
    expect(
      parseAuthChallenge(
        'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull,push"',
      ),
    ).toEqual({
      scheme: 'bearer',
      params: {
        realm: 'https://auth.docker.io/token',
        service: 'registry.docker.io',
        scope: 'repository:library/busybox:pull,push',
      },
    });
    expect(parseAuthChallenge('Basic realm="Registry Realm"')).toEqual({
      scheme: 'basic',
      params: { realm: 'Registry Realm' },
    });
    expect(parseAuthChallenge(undefined)).toBeUndefined();
  });
});

describe('digests', () => {
  it('a verifying stream passes good content and errors on tampered content', async () => {
    const data = Buffer.from('hello layer');
    const good = Readable.from([data]).pipe(new DigestVerifier(computeDigest(data), 'blob'));
    const chunks: Buffer[] = [];
    for await (const c of good) chunks.push(c as Buffer);
    expect(Buffer.concat(chunks)).toEqual(data);
    const bad = Readable.from([Buffer.from('hello layes')]).pipe(new DigestVerifier(computeDigest(data), 'blob'));
    await expect(
      (async () => {
        for await (const _ of bad) void _;
      })(),
    ).rejects.toThrow(DigestMismatchError);
  });
});

describe('layer scanning', () => {
  const tar = buildTar([
    { path: './etc/', type: 'dir' },
    { path: './etc/passwd', content: 'root:x:0:0::/:/bin/sh\n' },
    { path: 'etc/.wh.group', content: '' },
    { path: 'usr/bin/big', content: Buffer.alloc(300_000, 7) },
    { path: 'etc/shadow', content: 'secret' },
  ]);

  it('keeps only the wanted files and whiteouts and checks the diff_id', async () => {
    const scan = await scanLayer(Readable.from([gzipSync(tar)]), {
      compression: 'gzip',
      wanted: ['etc/passwd', 'etc/group'],
      expectedDiffId: computeDigest(tar),
    });
    expect(scan.files).toEqual({
      'etc/passwd': { kind: 'file', content: 'root:x:0:0::/:/bin/sh\n' },
      'etc/group': { kind: 'deleted' },
    });
    expect(scan.diffId).toBe(computeDigest(tar));
    await expect(
      scanLayer(Readable.from([tar]), {
        compression: 'none',
        wanted: ['etc/passwd'],
        expectedDiffId: computeDigest(Buffer.from('x')),
      }),
    ).rejects.toThrow(DigestMismatchError);
  });

  it('treats an opaque directory as deleting what lower layers had, and symlinked files as unusable', async () => {
    const t = buildTar([
      { path: 'etc/.wh..wh..opq', content: '' },
      { path: 'etc/group', type: 'symlink', target: '/x' },
    ]);
    const scan = await scanLayer(Readable.from([t]), { compression: 'none', wanted: ['etc/passwd', 'etc/group'] });
    expect(scan.files).toEqual({
      'etc/passwd': { kind: 'deleted' },
      'etc/group': { kind: 'other', type: 'SymbolicLink' },
    });
  });

  it('rejects garbage and zstd layers', async () => {
    await expect(
      scanLayer(Readable.from([Buffer.from('not gzip at all')]), { compression: 'gzip', wanted: ['etc/passwd'] }),
    ).rejects.toThrow();
    await expect(scanLayer(Readable.from([tar]), { compression: 'zstd', wanted: ['etc/passwd'] })).rejects.toThrow(
      /zstd/,
    );
  });

  it('hashes every byte of a large streamed layer and keeps the small file before it', async () => {
    // memory use for big layers is checked end to end (registry → gunzip → tar) in
    // test/integration/policy/large-layer-memory.test.ts
    const opts = {
      fileBytes: 64 * 1024 * 1024 + 7,
      before: [{ path: 'etc/passwd', content: 'root:x:0:0::/:/bin/sh\n' }],
    };
    const scan = await scanLayer(Readable.from(bigLayerTar(opts)), {
      compression: 'none',
      wanted: ['etc/passwd', 'etc/group'],
    });
    const h = createHash('sha256');
    for await (const c of bigLayerTar(opts)) h.update(c);
    expect(scan.diffId).toBe(`sha256:${h.digest('hex')}`);
    expect(scan.files).toEqual({ 'etc/passwd': { kind: 'file', content: 'root:x:0:0::/:/bin/sh\n' } });
  });
});
