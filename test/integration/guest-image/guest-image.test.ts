/**
 * Builds the real dev/test guest (Debian cloud kernel .deb, busybox, node, runc, a bundled test agent) and boots it
 * under QEMU/TCG. Needs apt access to the Debian archive (or a cached kernel .deb), busybox-static and runc; the boot
 * tests also need qemu-system-x86. Each missing piece skips the tests that need it, saying why.
 */
import { describe, it, expect, beforeAll } from 'vitest';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  buildGuestImage,
  bootGuest,
  defaultNativeAddon,
  haveQemu,
  GUEST_NATIVE_ADDON_PATH,
  LineReader,
  readModInfo,
  selectKernelModules,
  type GuestImage,
  type BootGuestOptions,
} from '../../../src/guest-image/index.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const cacheDir = path.join(repoRoot, '.cache/guest-image-test');
const agentEntry = path.join(repoRoot, 'test/fixtures/guest/hello-agent.ts');

function missingTools(): string[] {
  const missing: string[] = [];
  const has = (cmd: string, args: string[]) => spawnSync(cmd, args, { stdio: 'ignore' }).status === 0;
  if (!has('dpkg-deb', ['--version'])) missing.push('dpkg-deb');
  if (!has('apt-cache', ['--version'])) missing.push('apt-cache');
  if (!['/bin/busybox', '/usr/bin/busybox'].some((p) => existsSync(p))) missing.push('busybox (busybox-static)');
  if (!['/usr/sbin/runc', '/usr/bin/runc'].some((p) => existsSync(p))) missing.push('runc');
  if (!has('zstd', ['--version'])) missing.push('zstd');
  return missing;
}

const missing = missingTools();
const canBuild = missing.length === 0 && process.platform === 'linux' && process.arch === 'x64';
if (!canBuild) console.warn(`guest-image build tests skipped: missing ${missing.join(', ') || 'linux/x64 host'}`);
const qemuOk = canBuild && (await haveQemu());
if (canBuild && !qemuOk)
  console.warn('guest-image boot tests skipped: qemu-system-x86_64 not installed (qemu-system-x86)');

const nativeAddon = defaultNativeAddon();
if (!nativeAddon)
  console.warn(
    'guest-image: native/build/Release/ccgpu_native.node is not built (npm run build:native): addon checks skipped',
  );

const sha = (f: string) => createHash('sha256').update(readFileSync(f)).digest('hex');

interface Member {
  name: string;
  mode: number;
  uid: number;
  gid: number;
  mtime: number;
  rdev: [number, number];
  data: Buffer;
}

/** Independent newc reader (test side), so the archive is checked by code other than the writer. */
function readNewc(buf: Buffer): Member[] {
  const out: Member[] = [];
  let o = 0;
  const align = (n: number) => (n + 3) & ~3;
  for (;;) {
    expect(buf.toString('latin1', o, o + 6)).toBe('070701');
    const f = (i: number) => parseInt(buf.toString('latin1', o + 6 + i * 8, o + 14 + i * 8), 16);
    const [mode, uid, gid, mtime, size, rmaj, rmin, namesize] = [f(1), f(2), f(3), f(5), f(6), f(9), f(10), f(11)];
    const name = buf.toString('utf8', o + 110, o + 110 + namesize - 1);
    const dataStart = align(o + 110 + namesize);
    if (name === 'TRAILER!!!') break;
    out.push({ name, mode, uid, gid, mtime, rdev: [rmaj, rmin], data: buf.subarray(dataStart, dataStart + size) });
    o = align(dataStart + size);
  }
  return out;
}

function unzstd(file: string): Buffer {
  const r = spawnSync('zstd', ['-dc', file], { maxBuffer: 1 << 30 });
  expect(r.status).toBe(0);
  return r.stdout;
}

describe.skipIf(!canBuild)('guest image build (Debian cloud kernel, busybox, node, runc)', () => {
  let first: GuestImage;
  let firstMs = 0;
  let buildError: unknown;

  beforeAll(async () => {
    const t = Date.now();
    try {
      first = await buildGuestImage({ cacheDir, agentEntry, force: true });
    } catch (e) {
      buildError = e;
    }
    firstMs = Date.now() - t;
  }, 300_000);

  function image(): GuestImage {
    if (buildError) {
      const msg = String((buildError as Error).message);
      if (/apt-get|not known to apt|download/.test(msg)) {
        console.warn(`guest-image: kernel package unavailable (${msg}); the build test cannot run here`);
      }
      throw buildError;
    }
    return first;
  }

  it('resolves linux-image-cloud-amd64 to the real kernel package and selects modules with their dependencies', () => {
    const img = image();
    const m = img.manifest;
    expect(m.kernel.package).toMatch(/^linux-image-\d+\.\d+\.\d+-\d+-cloud-amd64$/);
    expect(m.kernel.release).toBe(m.kernel.package.replace(/^linux-image-/, ''));
    expect(m.kernel.debSha256).toMatch(/^[0-9a-f]{64}$/);
    expect(readFileSync(img.kernel).toString('latin1', 0x202, 0x206)).toBe('HdrS'); // bzImage boot header
    // ext4 is built into the Debian cloud kernel; the virtio drivers are modules.
    expect(m.modules.builtin).toContain('ext4');
    const order = m.modules.loaded;
    for (const want of [
      'virtio_pci',
      'virtio_console',
      'virtio_blk',
      'vsock',
      'vmw_vsock_virtio_transport',
      'virtio_net',
      'virtiofs',
      'fuse',
      'overlay',
      'erofs',
    ]) {
      expect(order).toContain(want);
    }
    // dependencies come before their users
    const before = (a: string, b: string) => expect(order.indexOf(a)).toBeLessThan(order.indexOf(b));
    before('virtio', 'virtio_pci');
    before('virtio_ring', 'virtio_pci');
    before('vsock', 'vmw_vsock_virtio_transport');
    before('vmw_vsock_virtio_transport_common', 'vmw_vsock_virtio_transport');
    before('net_failover', 'virtio_net');
    before('fuse', 'virtiofs');
    if (nativeAddon) {
      expect(m.nativeAddon).toEqual({
        hostPath: nativeAddon,
        guestPath: GUEST_NATIVE_ADDON_PATH,
        sha256: sha(nativeAddon),
      });
    } else {
      expect(m.nativeAddon).toBeUndefined();
    }
    expect(m.initrd.compression).toBe('zstd');
    expect(m.binaries.map((b) => b.name)).toEqual(['busybox', 'node', 'runc']);
    expect(m.binaries[1]!.version).toBe(process.version);
    expect(firstMs).toBeGreaterThan(0);
  });

  it('writes a deterministic initramfs: sorted, root-owned, one mtime, with /init, node, runc, their libraries and modules', () => {
    const img = image();
    const members = readNewc(unzstd(img.initrd));
    const names = members.map((e) => e.name);
    expect(names).toEqual([...names].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)));
    expect(members.every((e) => e.uid === 0 && e.gid === 0 && e.mtime === 0)).toBe(true);
    const get = (n: string) => members.find((e) => e.name === n);
    expect(get('init')!.mode).toBe(0o100755);
    const init = get('init')!.data.toString();
    expect(init).toContain("exec '/usr/bin/node' '/agent.mjs'");
    for (const fsType of ['proc', 'sysfs', 'devtmpfs', 'cgroup2']) expect(init).toContain(`mount -t ${fsType} `);
    expect(init).toMatch(/mount -t tmpfs .* \/run\n/);
    expect(init).toMatch(/mount -t tmpfs .* \/tmp\n/);
    expect(get('etc/passwd')!.data.toString()).toMatch(/^root:x:0:0:root:\/root:\/bin\/sh\n/);
    expect(get('etc/group')!.data.toString()).toMatch(/^root:x:0:\n/);
    for (const applet of ['bin/sh', 'bin/mount', 'sbin/ip', 'bin/stty', 'sbin/poweroff']) {
      expect(get(applet), applet).toBeDefined();
    }
    if (nativeAddon) {
      expect(init).toContain(`export CCGPU_AGENT_NATIVE='${GUEST_NATIVE_ADDON_PATH}'`);
      const addon = get(GUEST_NATIVE_ADDON_PATH.slice(1))!;
      expect(addon.data.equals(readFileSync(nativeAddon))).toBe(true);
      expect(addon.mode).toBe(0o100755);
      expect(get('lib/x86_64-linux-gnu/libstdc++.so.6')).toBeDefined(); // the addon's C++ runtime
    } else {
      expect(init).not.toContain('CCGPU_AGENT_NATIVE');
    }
    expect(get('dev/console')!.mode & 0o170000).toBe(0o020000);
    expect(get('dev/console')!.rdev).toEqual([5, 1]);
    expect(get('usr/bin/node')!.data.equals(readFileSync(process.execPath))).toBe(true);
    expect(get('usr/bin/runc')!.data.length).toBeGreaterThan(1_000_000);
    expect(get('lib64/ld-linux-x86-64.so.2')).toBeDefined();
    expect(get('lib/x86_64-linux-gnu/libseccomp.so.2')).toBeDefined(); // runc's library
    expect(get('bin/sh')!.data.toString()).toBe('busybox');
    expect(get('agent.mjs')!.data.toString()).toContain('hello from node');
    // module files are the real .ko files, and their .modinfo agrees with the selection
    const rel = img.manifest.kernel.release;
    const vpci = get(`lib/modules/${rel}/kernel/drivers/virtio/virtio_pci.ko`)!;
    const info = readModInfo(vpci.data, 'virtio_pci.ko');
    expect(info.name).toBe('virtio_pci');
    expect(info.depends).toEqual(expect.arrayContaining(['virtio', 'virtio_ring']));
    expect(get(`lib/modules/${rel}/modules.dep`)!.data.toString()).toMatch(
      /^kernel\/drivers\/virtio\/virtio_pci\.ko: .*virtio\.ko/m,
    );
  });

  it('is a cache hit when built again with the same inputs (same directory, fast)', async () => {
    const img = image();
    const t = Date.now();
    const again = await buildGuestImage({ cacheDir, agentEntry });
    const ms = Date.now() - t;
    expect(again.cacheHit).toBe(true);
    expect(again.dir).toBe(img.dir);
    expect(again.manifest.key).toBe(img.manifest.key);
    expect(sha(again.initrd)).toBe(img.manifest.initrd.sha256);
    expect(ms).toBeLessThan(firstMs);
    // a different input (an extra file) is a different key
    const other = await buildGuestImage({
      cacheDir,
      agentEntry,
      extraFiles: [{ guestPath: '/etc/ccgpu-test', content: 'x' }],
      compression: 'none',
      runcBinary: false,
      nativeAddon: false,
    });
    expect(other.manifest.key).not.toBe(img.manifest.key);
    // without the addon: no file, no CCGPU_AGENT_NATIVE for the agent
    expect(other.manifest.nativeAddon).toBeUndefined();
    const otherMembers = readNewc(readFileSync(other.initrd));
    expect(otherMembers.some((e) => e.name === GUEST_NATIVE_ADDON_PATH.slice(1))).toBe(false);
    expect(otherMembers.find((e) => e.name === 'init')!.data.toString()).not.toContain('CCGPU_AGENT_NATIVE');
    rmSync(other.dir, { recursive: true, force: true });
  }, 120_000);

  it('is reproducible: a rebuild in another cache directory from the same .deb gives byte-identical files', async () => {
    const img = image();
    const otherCache = path.join(repoRoot, '.cache/guest-image-test-repro');
    rmSync(otherCache, { recursive: true, force: true });
    try {
      const debDir = path.join(cacheDir, 'debs');
      const deb = path.join(debDir, require_deb(debDir, img.manifest.kernel.package));
      const b = await buildGuestImage({ cacheDir: otherCache, agentEntry, kernelDeb: deb });
      expect(b.cacheHit).toBe(false);
      expect(b.manifest.key).toBe(img.manifest.key);
      expect(sha(b.initrd)).toBe(sha(img.initrd));
      expect(sha(b.kernel)).toBe(sha(img.kernel));
      expect(readFileSync(b.manifestPath, 'utf8')).toBe(readFileSync(img.manifestPath, 'utf8'));
    } finally {
      rmSync(otherCache, { recursive: true, force: true });
    }
  }, 300_000);

  it('names a wanted module that the kernel has neither built in nor as a file', async () => {
    const m = image().manifest;
    const modulesRoot = path.join(
      cacheDir,
      'kernels',
      m.kernel.debSha256.slice(0, 32),
      'lib/modules',
      m.kernel.release,
    );
    await expect(selectKernelModules(modulesRoot, ['virtio_pci', 'no_such_driver'])).rejects.toThrow(
      /kernel module "no_such_driver" is neither built in nor present/,
    );
    const sel = await selectKernelModules(modulesRoot, ['virtio-pci']); // either spelling
    expect(sel.modules.at(-1)!.name).toBe('virtio_pci');
  });

  it('`ccgpu image build --json` prints the paths and content hash (cache hit of the same inputs)', () => {
    image();
    const r = spawnSync(
      process.execPath,
      [
        '--import',
        'tsx',
        path.join(repoRoot, 'src/cli/main.ts'),
        'image',
        'build',
        '--agent',
        agentEntry,
        '--cache-dir',
        cacheDir,
        '--json',
      ],
      { cwd: repoRoot, encoding: 'utf8', timeout: 120_000 },
    );
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(out.key).toBe(first.manifest.key);
    expect(out.cacheHit).toBe(true);
    expect(out.kernel).toBe(first.kernel);
    expect(out.initrd).toBe(first.initrd);
    expect(out.cmdline).toBe('console=ttyS0 panic=1');
    expect(r.stderr).toMatch(/cache hit/);
    const bad = spawnSync(
      process.execPath,
      [
        '--import',
        'tsx',
        path.join(repoRoot, 'src/cli/main.ts'),
        'image',
        'build',
        '--rootfs',
        'xfs',
        '--agent',
        agentEntry,
      ],
      {
        cwd: repoRoot,
        encoding: 'utf8',
      },
    );
    expect(bad.status).not.toBe(0);
    expect(bad.stderr).toMatch(/--rootfs: expected erofs or ext4, got "xfs"/);
  }, 120_000);

  describe.skipIf(!qemuOk)('boots under QEMU/TCG', () => {
    /** Boots, reads the fixture's three report lines, sends a line, expects the ack and QEMU's exit. */
    async function bootAndTalk(img: GuestImage, extra: Partial<BootGuestOptions> = {}) {
      const guest = await bootGuest({
        kernel: img.kernel,
        initrd: img.initrd,
        append: img.manifest.cmdline,
        serialSocketPath: path.join(cacheDir, `agent-${process.pid}.sock`),
        timeoutMs: 120_000,
        ...extra,
      });
      try {
        const s = await guest.connect();
        const reader = new LineReader(s);
        const lines = [(await reader.next(90_000, 'hello line')) ?? '<closed>'];
        const bootMs = Date.now() - guest.startedAt;
        lines.push((await reader.next(30_000, 'runc line')) ?? '<closed>');
        lines.push((await reader.next(10_000, 'status line')) ?? '<closed>');
        const reportLine = (await reader.next(30_000, 'report line')) ?? '<closed>';
        expect(reportLine).toMatch(/^report \{/);
        const report = JSON.parse(reportLine.slice('report '.length)) as GuestReport;
        s.write('bye from the host\n');
        const ack = await reader.next(10_000, 'ack line');
        const exit = await guest.exited;
        return { lines, ack, exit, bootMs, report };
      } catch (e) {
        console.error(`guest console output:\n${await guest.consoleOutput()}`);
        await guest.kill();
        throw e;
      }
    }

    /** What the real agent relies on, as the guest saw it. */
    function expectAgentEnvironment(report: GuestReport): void {
      for (const m of [
        'virtio_pci',
        'virtio_console',
        'virtio_blk',
        'vsock',
        'vmw_vsock_virtio_transport',
        'virtiofs',
        'fuse',
        'overlay',
        'virtio_net',
      ]) {
        expect(report.modules, `module ${m} loaded in the guest`).toContain(m);
      }
      expect(report.mounts).toEqual({ run: 'tmpfs', tmp: 'tmpfs', cgroup: 'cgroup2' });
      expect(report.passwd).toBe('root:x:0:0:root:/root:/bin/sh');
      expect(report.group).toBe('root:x:0:');
      expect(Object.values(report.applets).every(Boolean), JSON.stringify(report.applets)).toBe(true);
      if (nativeAddon) {
        expect(report.native.error).toBeUndefined();
        expect(report.native.env).toBe(GUEST_NATIVE_ADDON_PATH);
        // a shell's background child, re-parented to PID 1 (node), reaped through the addon's waitpid
        expect(report.native.reaped).toEqual(
          expect.objectContaining({ pid: report.native.orphan, exited: true, code: 0 }),
        );
      } else {
        expect(report.native.env).toBeNull();
      }
    }

    it('runs node as PID 1, answers over virtio-serial, runs runc, and powers off', async () => {
      const { lines, ack, exit, bootMs, report } = await bootAndTalk(image());
      expectAgentEnvironment(report);
      expect(lines[0]).toBe(`hello from node ${process.version} pid=1`);
      expect(lines[1]).toMatch(/^runc: runc version \d+\.\d+\.\d+/);
      expect(lines[2]).toBe('uid=0 cgroup2=yes rootfs=rootfs');
      expect(ack).toBe('ack bye from the host');
      expect(exit.timedOut).toBe(false);
      expect(exit.code).toBe(0);
      console.log(
        `guest-image: node running as PID 1 after ${bootMs} ms (TCG), QEMU exited after ${exit.elapsedMs} ms`,
      );
    }, 150_000);

    it('rootfs mode: a reproducible erofs image on virtio-blk, mounted read-only as / before node starts', async () => {
      image();
      const a = await buildGuestImage({ cacheDir, agentEntry, rootfs: 'erofs', force: true });
      expect(a.rootfsImage).toBeDefined();
      expect(readFileSync(a.rootfsImage!).readUInt32LE(1024)).toBe(0xe0f5e1e2); // EROFS superblock magic
      expect(a.manifest.cmdline).toContain('ccgpu.rootfstype=erofs');
      // the small initramfs only boots into the rootfs: no node in it
      expect(readNewc(unzstd(a.initrd)).some((e) => e.name === 'usr/bin/node')).toBe(false);
      const b = await buildGuestImage({ cacheDir, agentEntry, rootfs: 'erofs', force: true });
      expect(sha(b.rootfsImage!)).toBe(sha(a.rootfsImage!));
      expect(sha(b.initrd)).toBe(sha(a.initrd));

      const { lines, ack, exit, report } = await bootAndTalk(b, { rootfsImage: b.rootfsImage });
      expectAgentEnvironment(report);
      expect(lines[0]).toBe(`hello from node ${process.version} pid=1`);
      expect(lines[1]).toMatch(/^runc: runc version /);
      expect(lines[2]).toBe('uid=0 cgroup2=yes rootfs=erofs');
      expect(ack).toBe('ack bye from the host');
      expect(exit.code).toBe(0);
    }, 200_000);
  });
});

interface GuestReport {
  modules: string[];
  mounts: Record<string, string | null>;
  passwd: string;
  group: string;
  applets: Record<string, boolean>;
  native: { env: string | null; abiVersion?: number; orphan?: number; reaped?: unknown; error?: string };
}

/** The cached .deb of `pkg` in `debDir`. */
function require_deb(debDir: string, pkg: string): string {
  const r = spawnSync('ls', [debDir], { encoding: 'utf8' });
  const f = r.stdout.split('\n').find((l) => l.startsWith(pkg + '_') && l.endsWith('.deb'));
  if (!f) throw new Error(`no cached ${pkg} .deb in ${debDir}`);
  return f;
}
