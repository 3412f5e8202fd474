/**
 * Test fixture: a real local registry (Debian's `docker-registry`, distribution 2.x) on a free loopback port with
 * its own storage directory, and a builder for small busybox-based images pushed with our own OCI client.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { request } from 'undici';
import { MediaType, RegistryClient, computeDigest, parseImageReference } from '../../../policy/oci/index.js';

export const REGISTRY_BIN = '/usr/bin/docker-registry';
export const BUSYBOX_CANDIDATES = ['/bin/busybox', '/usr/bin/busybox'];

export function haveRegistry(): boolean {
  return existsSync(REGISTRY_BIN);
}

export function busyboxPath(): string | undefined {
  return BUSYBOX_CANDIDATES.find((p) => existsSync(p));
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

export interface LocalRegistry {
  readonly host: string; // 127.0.0.1:<port>
  readonly storage: string;
  stop(): Promise<void>;
}

export async function startRegistry(): Promise<LocalRegistry> {
  const dir = mkdtempSync(path.join(tmpdir(), 'ccgpu-registry-'));
  const storage = path.join(dir, 'storage');
  const port = await freePort();
  const host = `127.0.0.1:${port}`;
  const config = path.join(dir, 'config.yml');
  writeFileSync(
    config,
    [
      'version: 0.1',
      'log:',
      '  level: error',
      '  accesslog:',
      '    disabled: true',
      'storage:',
      '  filesystem:',
      `    rootdirectory: ${storage}`,
      'http:',
      `  addr: ${host}`,
      '  secret: ccgpu-test-secret',
      '',
    ].join('\n'),
  );
  const child: ChildProcess = spawn(REGISTRY_BIN, ['serve', config], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`docker-registry exited early (${child.exitCode}): ${stderr}`);
    try {
      const res = await request(`http://${host}/v2/`);
      await res.body.dump();
      if (res.statusCode === 200) break;
    } catch {
      /* not up yet */
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`docker-registry did not answer on ${host}: ${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    host,
    storage,
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Path of a blob's data file in the registry's filesystem storage (for tampering tests). */
export function blobDataPath(reg: LocalRegistry, digest: string): string {
  const hex = digest.slice('sha256:'.length);
  return path.join(reg.storage, 'docker/registry/v2/blobs/sha256', hex.slice(0, 2), hex, 'data');
}

export type TarEntry =
  | { path: string; type?: 'file'; content: string | Buffer; mode?: number; uid?: number; gid?: number }
  | { path: string; type: 'dir'; mode?: number }
  | { path: string; type: 'symlink'; target: string };

function octal(n: number, width: number): string {
  return n.toString(8).padStart(width - 1, '0') + '\0';
}

/** A ustar archive written by hand (deterministic bytes). */
export function buildTar(entries: readonly TarEntry[]): Buffer {
  const blocks: Buffer[] = [];
  for (const e of entries) {
    const data =
      e.type === 'dir' || e.type === 'symlink'
        ? Buffer.alloc(0)
        : Buffer.isBuffer(e.content)
          ? e.content
          : Buffer.from(e.content);
    const h = Buffer.alloc(512);
    const name = e.type === 'dir' && !e.path.endsWith('/') ? `${e.path}/` : e.path;
    if (Buffer.byteLength(name) > 100) throw new Error(`tar path too long: ${name}`);
    h.write(name, 0, 100, 'utf8');
    const mode =
      'mode' in e && e.mode !== undefined ? e.mode : e.type === 'dir' ? 0o755 : e.type === 'symlink' ? 0o777 : 0o644;
    h.write(octal(mode, 8), 100, 8, 'ascii');
    h.write(octal('uid' in e && e.uid !== undefined ? e.uid : 0, 8), 108, 8, 'ascii');
    h.write(octal('gid' in e && e.gid !== undefined ? e.gid : 0, 8), 116, 8, 'ascii');
    h.write(octal(data.length, 12), 124, 12, 'ascii');
    h.write(octal(1_700_000_000, 12), 136, 12, 'ascii');
    h.write('        ', 148, 8, 'ascii');
    h.write(e.type === 'dir' ? '5' : e.type === 'symlink' ? '2' : '0', 156, 1, 'ascii');
    if (e.type === 'symlink') h.write(e.target, 157, 100, 'utf8');
    h.write('ustar\0', 257, 6, 'ascii');
    h.write('00', 263, 2, 'ascii');
    let sum = 0;
    for (const b of h) sum += b;
    h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 8, 'ascii');
    blocks.push(h, data);
    const pad = (512 - (data.length % 512)) % 512;
    if (pad) blocks.push(Buffer.alloc(pad));
  }
  blocks.push(Buffer.alloc(1024));
  return Buffer.concat(blocks);
}

export interface BuiltLayer {
  readonly tar: Buffer;
  readonly blob: Buffer;
  readonly diffId: string;
  readonly digest: string;
  readonly mediaType: string;
}

export function buildLayer(entries: readonly TarEntry[], compression: 'gzip' | 'none' = 'gzip'): BuiltLayer {
  const tar = buildTar(entries);
  const blob = compression === 'gzip' ? gzipSync(tar) : tar;
  return {
    tar,
    blob,
    diffId: computeDigest(tar),
    digest: computeDigest(blob),
    mediaType: compression === 'gzip' ? MediaType.ociLayerGzip : MediaType.ociLayerTar,
  };
}

/** The busybox layer: the static binary plus the applet links a shell needs. */
export function busyboxLayer(): BuiltLayer {
  const bin = busyboxPath();
  if (!bin) throw new Error('busybox not installed');
  return buildLayer([
    { path: 'bin', type: 'dir' },
    { path: 'bin/busybox', content: readFileSync(bin), mode: 0o755 },
    { path: 'bin/sh', type: 'symlink', target: 'busybox' },
    { path: 'bin/ls', type: 'symlink', target: 'busybox' },
    { path: 'etc', type: 'dir' },
    { path: 'tmp', type: 'dir', mode: 0o1777 },
  ]);
}

export const PASSWD = [
  'root:x:0:0:root:/root:/bin/sh',
  'daemon:x:1:1:daemon:/usr/sbin:/bin/false',
  'www-data:x:33:33:www-data:/var/www:/bin/false',
  'app:x:1234:2345:app user:/home/app:/bin/sh',
  '',
].join('\n');

export const GROUP = [
  'root:x:0:',
  'daemon:x:1:',
  'wheel:x:10:root,app',
  'www-data:x:33:',
  'appgrp:x:2345:',
  'video:x:44:app',
  '',
].join('\n');

export function usersLayer(passwd = PASSWD, group = GROUP): BuiltLayer {
  return buildLayer([
    { path: 'etc', type: 'dir' },
    { path: 'etc/passwd', content: passwd },
    { path: 'etc/group', content: group },
  ]);
}

export interface ImageSpec {
  readonly layers: readonly BuiltLayer[];
  readonly config: Record<string, unknown>;
  readonly architecture?: string;
}

export interface PushedImage {
  readonly reference: string;
  readonly manifestDigest: string;
  readonly configDigest: string;
  readonly indexDigest?: string;
}

function manifestFor(spec: ImageSpec, configDigest: string, configSize: number): Buffer {
  return Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaType.ociManifest,
      config: { mediaType: MediaType.ociConfig, digest: configDigest, size: configSize },
      layers: spec.layers.map((l) => ({ mediaType: l.mediaType, digest: l.digest, size: l.blob.length })),
    }),
  );
}

async function pushOne(
  client: RegistryClient,
  reference: string,
  spec: ImageSpec,
  tag: string | undefined,
): Promise<{ digest: string; size: number; configDigest: string }> {
  const ref = parseImageReference(reference);
  for (const l of spec.layers) await client.pushBlob(ref, l.blob);
  const config = Buffer.from(
    JSON.stringify({
      architecture: spec.architecture ?? 'amd64',
      os: 'linux',
      config: spec.config,
      rootfs: { type: 'layers', diff_ids: spec.layers.map((l) => l.diffId) },
    }),
  );
  const configDigest = await client.pushBlob(ref, config);
  const manifest = manifestFor(spec, configDigest, config.length);
  const digest = await client.pushManifest(ref, manifest, MediaType.ociManifest, tag);
  return { digest, size: manifest.length, configDigest };
}

/** Pushes a single-platform image under `reference` (which carries the tag). */
export async function pushImage(client: RegistryClient, reference: string, spec: ImageSpec): Promise<PushedImage> {
  const r = await pushOne(client, reference, spec, parseImageReference(reference).tag);
  return { reference, manifestDigest: r.digest, configDigest: r.configDigest };
}

/** Pushes an index with an arm64 image first and the amd64 one second, tagged as `reference`. */
export async function pushMultiArch(
  client: RegistryClient,
  reference: string,
  amd64: ImageSpec,
  arm64: ImageSpec,
): Promise<PushedImage> {
  const ref = parseImageReference(reference);
  const a = await pushOne(client, reference, { ...arm64, architecture: 'arm64' }, undefined);
  const b = await pushOne(client, reference, { ...amd64, architecture: 'amd64' }, undefined);
  const index = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaType.ociIndex,
      manifests: [
        {
          mediaType: MediaType.ociManifest,
          digest: a.digest,
          size: a.size,
          platform: { os: 'linux', architecture: 'arm64', variant: 'v8' },
        },
        {
          mediaType: MediaType.ociManifest,
          digest: b.digest,
          size: b.size,
          platform: { os: 'linux', architecture: 'amd64' },
        },
      ],
    }),
  );
  const indexDigest = await client.pushManifest(ref, index, MediaType.ociIndex, ref.tag);
  return { reference, manifestDigest: b.digest, configDigest: b.configDigest, indexDigest };
}
