/**
 * `buildGuestImage`: the dev/test guest (kernel + initramfs, optionally a read-only rootfs image) from Debian
 * packages and host binaries, cached by a content hash over every input and reproducible byte for byte.
 *
 * Steps: kernel .deb (apt-get download, verified) → unpack → select modules → agent bundle (esbuild) → hash the
 * inputs (cache key; hit = done) → assemble the guest tree (busybox + applet links, node + libs, runc + libs, agent,
 * modules, /init, extra files) → write the cpio (+ compression) and the rootfs image → manifest.json.
 */
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { copyFile, mkdir, readFile, rename, rm, writeFile, readdir } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { spawn } from 'node:child_process';
import { createGzip } from 'node:zlib';
import path from 'node:path';
import { pino, type Logger } from 'pino';
import { GuestTree } from './guest-tree.js';
import { cpioNewcChunks, type CpioEntry } from './cpio-newc.js';
import { exists, obtainKernel, sha256File, type KernelPackage } from './kernel-package.js';
import { DEFAULT_GUEST_MODULES, selectKernelModules, type ModuleSelection } from './kernel-modules.js';
import { sharedLibrariesOf } from './shared-libraries.js';
import { bundleAgent, type AgentFormat } from './agent-bundle.js';
import { renderInitScript } from './init-script.js';
import { buildRootfsImage, type RootfsType } from './rootfs-image.js';
import { defaultCacheDir } from './cache-dir.js';
import { defaultNativeAddon } from './default-agent.js';
import { runTool } from './run-tool.js';
import { PROTO_FILES, protoDir } from '../protocols/index.js';

/** Bump when the builder's output for the same inputs changes. Part of the cache key. */
export const BUILDER_VERSION = 'ccgpu-guest-image/2';

export const DEFAULT_KERNEL_PACKAGE = 'linux-image-cloud-amd64';

export type Compression = 'gzip' | 'zstd' | 'none';

/** Where the native addon (waitpid, vsock, ioctls) lives in the guest; the agent loads it from there. */
/** Where the guest agent finds the .proto files (the agent's default CCGPU_PROTO_DIR). */
export const GUEST_PROTO_DIR = '/usr/share/ccgpu/proto';
export const GUEST_NATIVE_ADDON_PATH = '/usr/lib/ccgpu/ccgpu_native.node';

/** The environment variable that tells the agent where its native addon is (set on PID 1 when the addon is shipped). */
export const AGENT_NATIVE_ENV = 'CCGPU_AGENT_NATIVE';

export interface ExtraFile {
  /** Absolute path in the guest. */
  guestPath: string;
  /** Host file to copy (or give `content`). */
  source?: string;
  content?: string | Buffer;
  mode?: number;
}

export interface ProgressEvent {
  step: string;
  message: string;
}

export interface BuildGuestImageOptions {
  /** Cache directory (downloads, unpacked kernels, images). Default $CCGPU_CACHE_DIR or ~/.cache/ccgpu/guest. */
  cacheDir?: string;
  /** Also copy the results here as vmlinuz, initrd.img, rootfs.<type>, manifest.json. */
  outputDir?: string;
  /** Agent entry point (TS or JS), bundled with esbuild. */
  agentEntry: string;
  agentFormat?: AgentFormat;
  /** Arguments after the agent script on the PID 1 command line. */
  agentArgs?: string[];
  /** Environment for the agent process. */
  agentEnv?: Record<string, string>;
  extraFiles?: ExtraFile[];
  /** Ship src/protocols/proto at GUEST_PROTO_DIR for the agent (default true). */
  protocolDefinitions?: boolean;
  /** Debian kernel package (a metapackage is followed to the real image package). */
  kernelPackage?: string;
  /** Use this local kernel .deb instead of downloading (offline builds). */
  kernelDeb?: string;
  /** Kernel drivers wanted in the guest; built-in ones are skipped, the rest included with their dependencies. */
  modules?: readonly string[];
  nodeBinary?: string;
  busyboxBinary?: string;
  /** runc binary; `false` leaves runc out. Default: the host's (Debian package "runc"). */
  runcBinary?: string | false;
  /**
   * The native addon (`ccgpu_native.node`) to ship at GUEST_NATIVE_ADDON_PATH, with its shared libraries; the agent
   * gets `CCGPU_AGENT_NATIVE` pointing at it. Default: native/build/Release/ccgpu_native.node of this checkout when it
   * has been built; `false` leaves it out.
   */
  nativeAddon?: string | false;
  /** Also build a read-only rootfs image for virtio-blk; the initramfs then only boots into it. */
  rootfs?: RootfsType;
  /** Default: zstd when the tool is installed and the kernel supports it, else gzip. */
  compression?: Compression;
  /** Timestamp of every file (seconds). Default $SOURCE_DATE_EPOCH or 0. */
  sourceDateEpoch?: number;
  /** Let /init mount filesystems (default true); false hands that to the agent. */
  initMountsFilesystems?: boolean;
  /** Rebuild even when the cache has this key. */
  force?: boolean;
  logger?: Logger;
  onProgress?: (e: ProgressEvent) => void;
}

export interface FileDigest {
  path: string;
  sha256: string;
  bytes?: number;
}

export interface GuestImageManifest {
  builder: string;
  key: string;
  sourceDateEpoch: number;
  kernel: { package: string; version: string; release: string; debSha256: string; file: FileDigest };
  modules: { builtin: string[]; loaded: string[] };
  initrd: FileDigest & { compression: Compression; treeDigest: string };
  /** `reproducible` is false for ext4: mke2fs 1.47.0 stamps inode ctimes and superblock times with the build time. */
  rootfs?: FileDigest & { type: RootfsType; device: string; treeDigest: string; reproducible: boolean };
  agent: { entry: string; guestPath: string; format: AgentFormat; sha256: string };
  binaries: Array<{ name: string; hostPath: string; guestPath: string; sha256: string; version?: string }>;
  /** The native addon shipped for the agent, if any. */
  nativeAddon?: { hostPath: string; guestPath: string; sha256: string };
  libraries: Array<{ guestPath: string; sha256: string }>;
  extraFiles: Array<{ guestPath: string; sha256: string }>;
  /** Kernel command line the image is meant to boot with (console on ttyS0; add hvc0 if you prefer). */
  cmdline: string;
}

export interface GuestImage {
  kernel: string;
  initrd: string;
  rootfsImage?: string;
  manifest: GuestImageManifest;
  manifestPath: string;
  /** Cache directory of this image. */
  dir: string;
  cacheHit: boolean;
  /** Copies in `outputDir`, when one was given. */
  output?: { kernel: string; initrd: string; rootfsImage?: string; manifest: string };
}

function sha256(b: Buffer | string): string {
  return createHash('sha256').update(b).digest('hex');
}

async function firstExisting(cands: string[]): Promise<string | undefined> {
  for (const c of cands) if (await exists(c)) return c;
  return undefined;
}

async function readInput(what: string, file: string): Promise<Buffer> {
  try {
    return await readFile(file);
  } catch (e) {
    throw new Error(`${what}: cannot read ${file}: ${(e as Error).message}`, { cause: e });
  }
}

function firstLine(b: Buffer): string {
  return b.toString('utf8').split('\n')[0]?.trim() ?? '';
}

async function kernelSupports(kernel: KernelPackage, option: string): Promise<boolean> {
  const cfg = await readFile(path.join(path.dirname(kernel.vmlinuz), `config-${kernel.release}`), 'utf8').catch(
    () => '',
  );
  return new RegExp(`^${option}=y$`, 'm').test(cfg);
}

async function haveTool(tool: string): Promise<boolean> {
  try {
    await runTool(tool, ['--version']);
    return true;
  } catch {
    return false;
  }
}

/** Writes the cpio of `entries` to `out`, compressed. */
async function writeInitrd(entries: CpioEntry[], mtime: number, out: string, compression: Compression): Promise<void> {
  const src = Readable.from(cpioNewcChunks(entries, mtime), { objectMode: false });
  if (compression === 'none') {
    await pipeline(src, createWriteStream(out));
  } else if (compression === 'gzip') {
    // zlib writes mtime 0 and no file name into the gzip header: deterministic.
    await pipeline(src, createGzip({ level: 6 }), createWriteStream(out));
  } else {
    // The kernel's zstd decompressor needs a bounded window: no --long, single thread, fixed level.
    const child = spawn('zstd', ['-q', '-T1', '-10', '-c'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const done = new Promise<void>((resolve, reject) => {
      child.on('error', reject);
      child.on('close', (code) =>
        code === 0 ? resolve() : reject(new Error(`zstd failed (exit ${code}): ${stderr.trim()}`)),
      );
    });
    await Promise.all([pipeline(src, child.stdin), pipeline(child.stdout, createWriteStream(out)), done]);
  }
}

const BUSYBOX_GUEST = '/bin/busybox';
const NODE_GUEST = '/usr/bin/node';
const RUNC_GUEST = '/usr/bin/runc';

/** busybox applet links (/bin/sh, /sbin/insmod, ...) from `busybox --list-full`. */
async function busyboxApplets(busybox: string): Promise<string[]> {
  const r = await runTool(busybox, ['--list-full']);
  return r.stdout
    .toString('utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .map((l) => '/' + l.replace(/^\/+/, ''));
}

interface Binary {
  name: string;
  hostPath: string;
  guestPath: string;
  data: Buffer;
  libs: Array<{ path: string; data: Buffer }>;
  version?: string;
}

async function loadBinary(name: string, hostPath: string, guestPath: string, versionArgs?: string[]): Promise<Binary> {
  const data = await readInput(name, hostPath);
  const libs = [];
  for (const l of await sharedLibrariesOf(hostPath))
    libs.push({ path: l, data: await readInput(`${name} library`, l) });
  let version: string | undefined;
  if (versionArgs) version = firstLine((await runTool(hostPath, versionArgs)).stdout);
  return { name, hostPath, guestPath, data, libs, version };
}

function addBinary(tree: GuestTree, b: Binary): void {
  tree.file(b.guestPath, b.data, 0o755);
  for (const l of b.libs) tree.file(l.path, l.data, 0o755);
}

function addBaseLayout(tree: GuestTree): void {
  for (const d of [
    '/dev',
    '/proc',
    '/sys',
    '/run',
    '/tmp',
    '/etc',
    '/root',
    '/var',
    '/mnt',
    '/usr/bin',
    '/usr/sbin',
    '/sbin',
  ])
    tree.dir(d, d === '/tmp' ? 0o1777 : d === '/root' ? 0o700 : 0o755);
  tree.symlink('/var/run', '../run');
  tree.file('/etc/passwd', 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n');
  tree.file('/etc/group', 'root:x:0:\ntty:x:5:\nnogroup:x:65534:\n');
  tree.file('/etc/hostname', 'ccgpu-guest\n');
  tree.file('/etc/hosts', '127.0.0.1\tlocalhost\n::1\tlocalhost\n');
}

/** Names for log lines and progress: one place to report. */
function progressReporter(log: Logger, cb?: (e: ProgressEvent) => void) {
  return (step: string, message: string, extra: Record<string, unknown> = {}) => {
    log.info({ step, ...extra }, message);
    cb?.({ step, message });
  };
}

export async function buildGuestImage(opts: BuildGuestImageOptions): Promise<GuestImage> {
  const log = opts.logger ?? pino({ level: 'silent' });
  const progress = progressReporter(log, opts.onProgress);
  const cacheDir = path.resolve(opts.cacheDir ?? defaultCacheDir());
  const envEpoch = process.env.SOURCE_DATE_EPOCH;
  const mtime = opts.sourceDateEpoch ?? (envEpoch && /^\d+$/.test(envEpoch) ? Number(envEpoch) : 0);
  if (!Number.isInteger(mtime) || mtime < 0 || mtime > 0xffffffff) {
    throw new Error(`sourceDateEpoch: expected seconds since 1970 fitting 32 bits, got ${mtime}`);
  }
  await mkdir(cacheDir, { recursive: true });

  // 1. kernel
  const kernel = await obtainKernel(
    { pkg: opts.kernelPackage ?? DEFAULT_KERNEL_PACKAGE, localDeb: opts.kernelDeb, cacheDir },
    log.child({ component: 'kernel' }),
  );
  progress('kernel', `kernel ${kernel.package} ${kernel.version} (${kernel.release})`, { debSha256: kernel.debSha256 });

  // 2. modules
  const wantedModules = opts.modules ?? DEFAULT_GUEST_MODULES;
  const mods: ModuleSelection = await selectKernelModules(kernel.modulesRoot, wantedModules);
  progress('modules', `${mods.modules.length} modules to load, built in: ${mods.builtin.join(', ') || 'none'}`, {
    load: mods.modules.map((m) => m.name),
  });

  // 3. agent bundle
  const agentFormat = opts.agentFormat ?? 'esm';
  const agent = await bundleAgent(opts.agentEntry, agentFormat);
  progress('agent', `bundled ${opts.agentEntry} (${agent.code.length} bytes, ${agentFormat})`);

  // 4. binaries
  progress('binaries', 'reading busybox, node, runc and their shared libraries');
  const busyboxPath = opts.busyboxBinary ?? (await firstExisting(['/bin/busybox', '/usr/bin/busybox']));
  if (!busyboxPath) throw new Error('busybox not found on this host (install the Debian package "busybox-static")');
  const busybox = await loadBinary('busybox', busyboxPath, BUSYBOX_GUEST);
  const node = await loadBinary('node', opts.nodeBinary ?? process.execPath, NODE_GUEST, ['--version']);
  let runc: Binary | undefined;
  if (opts.runcBinary !== false) {
    const runcPath = opts.runcBinary ?? (await firstExisting(['/usr/sbin/runc', '/usr/bin/runc']));
    if (!runcPath)
      throw new Error('runc not found on this host (install the Debian package "runc", or pass runcBinary: false)');
    runc = await loadBinary('runc', runcPath, RUNC_GUEST, ['--version']);
  }
  let nativeAddon: Binary | undefined;
  const addonPath = opts.nativeAddon === false ? undefined : (opts.nativeAddon ?? defaultNativeAddon());
  if (addonPath) nativeAddon = await loadBinary('native addon', addonPath, GUEST_NATIVE_ADDON_PATH);
  const applets = await busyboxApplets(busyboxPath);
  const extra: Array<{ guestPath: string; data: Buffer; mode: number }> = [];
  for (const f of opts.extraFiles ?? []) {
    if (!path.posix.isAbsolute(f.guestPath)) throw new Error(`extraFiles: guestPath "${f.guestPath}" must be absolute`);
    if ((f.source === undefined) === (f.content === undefined)) {
      throw new Error(`extraFiles: ${f.guestPath}: give exactly one of source or content`);
    }
    const data =
      f.source !== undefined ? await readInput(`extra file ${f.guestPath}`, f.source) : Buffer.from(f.content!);
    extra.push({ guestPath: f.guestPath, data, mode: f.mode ?? 0o644 });
  }
  if (opts.protocolDefinitions !== false) {
    // the bundled agent loads its .proto files at run time (CCGPU_PROTO_DIR, default GUEST_PROTO_DIR)
    const dir = protoDir();
    for (const rel of PROTO_FILES) {
      extra.push({
        guestPath: path.posix.join(GUEST_PROTO_DIR, rel),
        data: await readInput(`protocol definition ${rel}`, path.join(dir, rel)),
        mode: 0o644,
      });
    }
  }

  // 5. init
  const rootDevice = '/dev/vda';
  const moduleFiles = mods.modules.map((m) => m.relPath);
  const init = renderInitScript({
    mountFilesystems: opts.initMountsFilesystems ?? true,
    modules: moduleFiles,
    kernelRelease: kernel.release,
    rootfs: opts.rootfs ? { device: rootDevice, fstype: opts.rootfs } : undefined,
    exec: [NODE_GUEST, agent.guestPath, ...(opts.agentArgs ?? [])],
    env: nativeAddon ? { [AGENT_NATIVE_ENV]: GUEST_NATIVE_ADDON_PATH, ...opts.agentEnv } : opts.agentEnv,
  });

  let compression: Compression = opts.compression ?? 'gzip';
  if (!opts.compression && (await kernelSupports(kernel, 'CONFIG_RD_ZSTD')) && (await haveTool('zstd')))
    compression = 'zstd';
  if (
    compression !== 'none' &&
    !(await kernelSupports(kernel, compression === 'gzip' ? 'CONFIG_RD_GZIP' : 'CONFIG_RD_ZSTD'))
  ) {
    throw new Error(`compression ${compression}: kernel ${kernel.release} cannot unpack such an initramfs`);
  }

  // 6. cache key over every input
  const binaries = [busybox, node, ...(runc ? [runc] : [])];
  const keyInput = {
    builder: BUILDER_VERSION,
    kernelDeb: kernel.debSha256,
    modules: [...wantedModules],
    binaries: binaries.map((b) => ({
      n: b.name,
      g: b.guestPath,
      h: sha256(b.data),
      l: b.libs.map((l) => [l.path, sha256(l.data)]),
    })),
    applets,
    nativeAddon: nativeAddon
      ? { h: sha256(nativeAddon.data), l: nativeAddon.libs.map((l) => [l.path, sha256(l.data)]) }
      : null,
    agent: sha256(agent.code),
    agentFormat,
    init: sha256(init),
    extra: extra.map((f) => [f.guestPath, f.mode, sha256(f.data)]),
    rootfs: opts.rootfs ?? null,
    compression,
    mtime,
  };
  const key = sha256(JSON.stringify(keyInput));
  const dir = path.join(cacheDir, 'images', key.slice(0, 32));
  const manifestPath = path.join(dir, 'manifest.json');
  const names = { kernel: 'vmlinuz', initrd: 'initrd.img', rootfs: opts.rootfs ? `rootfs.${opts.rootfs}` : undefined };

  /** The image in the cache directory (copied out when asked). */
  const finish = async (manifest: GuestImageManifest, cacheHit: boolean): Promise<GuestImage> => {
    const result: GuestImage = {
      kernel: path.join(dir, names.kernel),
      initrd: path.join(dir, names.initrd),
      rootfsImage: names.rootfs ? path.join(dir, names.rootfs) : undefined,
      manifest,
      manifestPath,
      dir,
      cacheHit,
    };
    if (opts.outputDir) result.output = await copyOut(result, opts.outputDir, progress);
    return result;
  };

  if (!opts.force && (await exists(manifestPath))) {
    const manifest = JSON.parse(await readFile(manifestPath, 'utf8')) as GuestImageManifest;
    if (manifest.key === key) {
      progress('cache', `cache hit ${key.slice(0, 16)} (${dir})`);
      return finish(manifest, true);
    }
  }
  progress('cache', `building ${key.slice(0, 16)}`);

  // 7. assemble
  const work = `${dir}.tmp-${process.pid}-${Date.now()}`;
  await rm(work, { recursive: true, force: true });
  await mkdir(work, { recursive: true });
  try {
    const payload = new GuestTree();
    addBaseLayout(payload);
    progress('copy', `copying busybox (${applets.length} applets)`);
    addBinary(payload, busybox);
    for (const a of applets)
      if (!payload.has(a)) payload.symlink(a, path.posix.relative(path.posix.dirname(a), BUSYBOX_GUEST));
    progress('copy', `copying node ${node.version ?? ''} and ${node.libs.length} libraries`);
    addBinary(payload, node);
    if (runc) {
      progress('copy', `copying runc and ${runc.libs.length} libraries`);
      addBinary(payload, runc);
    }
    if (nativeAddon) {
      progress('copy', `copying the native addon to ${GUEST_NATIVE_ADDON_PATH}`);
      addBinary(payload, nativeAddon);
    }
    payload.file(agent.guestPath, agent.code, 0o644);
    for (const f of extra) payload.file(f.guestPath, f.data, f.mode);

    // the initramfs: everything (initramfs mode) or busybox + modules + /init (rootfs mode)
    let initramfs: GuestTree;
    if (opts.rootfs) {
      initramfs = new GuestTree();
      addBaseLayout(initramfs);
      addBinary(initramfs, busybox);
      for (const a of applets)
        if (!initramfs.has(a)) initramfs.symlink(a, path.posix.relative(path.posix.dirname(a), BUSYBOX_GUEST));
    } else {
      initramfs = payload;
    }
    const modDir = `/lib/modules/${kernel.release}`;
    for (const m of mods.modules) initramfs.file(`${modDir}/${m.relPath}`, m.data, 0o644);
    initramfs.file(`${modDir}/modules.dep`, mods.modulesDep);
    initramfs.file('/init', init, 0o755);
    initramfs.chardev('/dev/console', 5, 1, 0o600);
    initramfs.chardev('/dev/null', 1, 3, 0o666);

    await copyFile(kernel.vmlinuz, path.join(work, names.kernel));
    progress('cpio', `writing initramfs (${(initramfs.dataBytes() / 2 ** 20).toFixed(1)} MiB, ${compression})`);
    await writeInitrd(initramfs.sorted(), mtime, path.join(work, names.initrd), compression);

    let rootfs: GuestImageManifest['rootfs'];
    if (opts.rootfs && names.rootfs) {
      progress('rootfs', `writing ${opts.rootfs} rootfs image (${(payload.dataBytes() / 2 ** 20).toFixed(1)} MiB)`);
      const img = path.join(work, names.rootfs);
      await buildRootfsImage(payload, img, { type: opts.rootfs, mtime, seedHex: key, workDir: cacheDir });
      rootfs = {
        path: names.rootfs,
        sha256: await sha256File(img),
        type: opts.rootfs,
        device: rootDevice,
        treeDigest: payload.digest(),
        reproducible: opts.rootfs === 'erofs',
      };
    }

    const manifest: GuestImageManifest = {
      builder: BUILDER_VERSION,
      key,
      sourceDateEpoch: mtime,
      kernel: {
        package: kernel.package,
        version: kernel.version,
        release: kernel.release,
        debSha256: kernel.debSha256,
        file: { path: names.kernel, sha256: await sha256File(path.join(work, names.kernel)) },
      },
      modules: { builtin: mods.builtin, loaded: mods.modules.map((m) => m.name) },
      initrd: {
        path: names.initrd,
        sha256: await sha256File(path.join(work, names.initrd)),
        compression,
        treeDigest: initramfs.digest(),
      },
      rootfs,
      agent: {
        entry: path.resolve(opts.agentEntry),
        guestPath: agent.guestPath,
        format: agentFormat,
        sha256: sha256(agent.code),
      },
      binaries: binaries.map((b) => ({
        name: b.name,
        hostPath: b.hostPath,
        guestPath: b.guestPath,
        sha256: sha256(b.data),
        ...(b.version ? { version: b.version } : {}),
      })),
      ...(nativeAddon
        ? {
            nativeAddon: {
              hostPath: nativeAddon.hostPath,
              guestPath: nativeAddon.guestPath,
              sha256: sha256(nativeAddon.data),
            },
          }
        : {}),
      libraries: [
        ...new Map(
          [...binaries, ...(nativeAddon ? [nativeAddon] : [])]
            .flatMap((b) => b.libs)
            .map((l) => [l.path, sha256(l.data)]),
        ).entries(),
      ]
        .sort(([a], [b]) => (a < b ? -1 : 1))
        .map(([guestPath, h]) => ({ guestPath, sha256: h })),
      extraFiles: extra.map((f) => ({ guestPath: f.guestPath, sha256: sha256(f.data) })),
      cmdline: [
        'console=ttyS0',
        'panic=1',
        ...(opts.rootfs ? [`ccgpu.rootfs=${rootDevice}`, `ccgpu.rootfstype=${opts.rootfs}`] : []),
      ].join(' '),
    };
    await writeFile(path.join(work, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n');
    await rm(dir, { recursive: true, force: true });
    await rename(work, dir);
    progress('done', `image ${key.slice(0, 16)} ready in ${dir}`);
    return await finish(manifest, false);
  } catch (e) {
    await rm(work, { recursive: true, force: true });
    throw e;
  }
}

/** Copies the artifacts to `outDir` (same file names as in the cache). */
async function copyOut(
  img: GuestImage,
  outDir: string,
  progress: ReturnType<typeof progressReporter>,
): Promise<NonNullable<GuestImage['output']>> {
  const out = path.resolve(outDir);
  await mkdir(out, { recursive: true });
  const to = (f: string) => path.join(out, path.basename(f));
  const files = [img.kernel, img.initrd, img.manifestPath, ...(img.rootfsImage ? [img.rootfsImage] : [])];
  for (const f of files) await copyFile(f, to(f));
  progress('output', `copied ${files.length} files to ${out}`);
  return {
    kernel: to(img.kernel),
    initrd: to(img.initrd),
    manifest: to(img.manifestPath),
    ...(img.rootfsImage ? { rootfsImage: to(img.rootfsImage) } : {}),
  };
}

/** Cached image directories, for housekeeping (`ccgpu image build` prints the one it made). */
export async function listCachedImages(cacheDir = defaultCacheDir()): Promise<string[]> {
  const dir = path.join(cacheDir, 'images');
  return (await readdir(dir).catch(() => [] as string[])).filter((d) => !d.includes('.tmp-')).sort();
}
