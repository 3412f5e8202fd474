/**
 * A tiny busybox image (for the live demo and the e2e tests) built from Debian's busybox-static, as an OCI image layout tarball that `ctr image import`
 * accepts: one gzip layer with /bin/busybox and applet symlinks, a config, a manifest, an index.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import * as tar from 'tar';

const APPLETS = [
  'sh',
  'echo',
  'cat',
  'ls',
  'sleep',
  'true',
  'false',
  'id',
  'env',
  'ps',
  'kill',
  'stty',
  'hostname',
  'wc',
  'head',
  'grep',
  'tty',
];

function sha256(b: Buffer): string {
  return createHash('sha256').update(b).digest('hex');
}

async function tarDir(dir: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  const entries = fs.readdirSync(dir);
  const stream = tar.c({ cwd: dir, portable: true, noMtime: true, gzip: false }, entries);
  for await (const c of stream as AsyncIterable<Buffer>) chunks.push(Buffer.from(c));
  return Buffer.concat(chunks);
}

/** Writes `<out>` (an OCI layout tar) for image `ref` and returns its path. */
export async function buildBusyboxImageTar(
  out: string,
  ref = 'docker.io/library/ccgpu-busybox:test',
  busybox = '/bin/busybox',
): Promise<string> {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'ccgpu-img-'));
  try {
    const rootfs = path.join(work, 'rootfs');
    fs.mkdirSync(path.join(rootfs, 'bin'), { recursive: true });
    for (const d of ['etc', 'tmp', 'proc', 'sys', 'dev', 'root']) fs.mkdirSync(path.join(rootfs, d));
    fs.copyFileSync(busybox, path.join(rootfs, 'bin/busybox'));
    fs.chmodSync(path.join(rootfs, 'bin/busybox'), 0o755);
    for (const a of APPLETS) fs.symlinkSync('busybox', path.join(rootfs, 'bin', a));
    fs.writeFileSync(
      path.join(rootfs, 'etc/passwd'),
      'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n',
    );
    fs.writeFileSync(path.join(rootfs, 'etc/group'), 'root:x:0:\nnogroup:x:65534:\n');
    const layerTar = await tarDir(rootfs);
    const layerGz = gzipSync(layerTar, { level: 6 });
    const config = Buffer.from(
      JSON.stringify({
        architecture: 'amd64',
        os: 'linux',
        config: { Env: ['PATH=/bin'], Cmd: ['sh'], WorkingDir: '/' },
        rootfs: { type: 'layers', diff_ids: [`sha256:${sha256(layerTar)}`] },
      }),
    );
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        config: {
          mediaType: 'application/vnd.oci.image.config.v1+json',
          digest: `sha256:${sha256(config)}`,
          size: config.length,
        },
        layers: [
          {
            mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip',
            digest: `sha256:${sha256(layerGz)}`,
            size: layerGz.length,
          },
        ],
      }),
    );
    const index = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.index.v1+json',
        manifests: [
          {
            mediaType: 'application/vnd.oci.image.manifest.v1+json',
            digest: `sha256:${sha256(manifest)}`,
            size: manifest.length,
            platform: { architecture: 'amd64', os: 'linux' },
            annotations: { 'io.containerd.image.name': ref, 'org.opencontainers.image.ref.name': ref.split(':').pop() },
          },
        ],
      }),
    );
    const layout = path.join(work, 'layout');
    fs.mkdirSync(path.join(layout, 'blobs/sha256'), { recursive: true });
    for (const b of [layerGz, config, manifest]) fs.writeFileSync(path.join(layout, 'blobs/sha256', sha256(b)), b);
    fs.writeFileSync(path.join(layout, 'index.json'), index);
    fs.writeFileSync(path.join(layout, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
    fs.writeFileSync(out, await tarDir(layout));
    return out;
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}
