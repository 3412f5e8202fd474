import { execFileSync } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { dial } from '../../../src/ttrpc/index.js';
import {
  addonCandidates,
  connectVsock,
  loadAddonFrom,
  openStreamDevice,
  listenVsock,
  loadNative,
  nativeAvailable,
  socketFromFd,
} from '../../../native/index.js';

const built = nativeAvailable();
if (!built)
  console.warn(
    `skipping native addon tests: addon not built (${addonCandidates().join(', ')}); run npm run build:native`,
  );

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const c of cleanups.splice(0).reverse()) c();
});

/** Whether this kernel lets us create AF_VSOCK sockets (no vsock transport → EAFNOSUPPORT). */
function vsockSupported(): boolean {
  const n = loadNative();
  try {
    n.close(n.vsockSocket());
    return true;
  } catch (e) {
    expect((e as { code?: string }).code).toBe('EAFNOSUPPORT');
    return false;
  }
}

describe('native addon (node-addon-api)', () => {
  it('reports a clear error when the addon is missing', () => {
    expect(() => loadAddonFrom(['/nonexistent/ccgpu_native.node'])).toThrow(
      /^ccgpu native addon is not built \(looked for \/nonexistent\/ccgpu_native.node\); build it with `npm run build:native` \(runs `node-gyp rebuild --directory native`/,
    );
    const prev = process.env.CCGPU_NATIVE_ADDON;
    process.env.CCGPU_NATIVE_ADDON = '/custom/ccgpu_native.node';
    try {
      expect(addonCandidates()[0]).toBe('/custom/ccgpu_native.node');
    } finally {
      if (prev === undefined) delete process.env.CCGPU_NATIVE_ADDON;
      else process.env.CCGPU_NATIVE_ADDON = prev;
    }
  });

  it.skipIf(!built)('creates an AF_VSOCK socket or fails with EAFNOSUPPORT naming the call', () => {
    const n = loadNative();
    expect(n.abiVersion).toBe(1);
    expect(n.vsockConstants.AF_VSOCK).toBe(40);
    try {
      const fd = n.vsockSocket();
      expect(fd).toBeGreaterThan(2);
      expect(n.socketError(fd)).toBe(0);
      n.close(fd);
    } catch (e) {
      expect(e).toMatchObject({ code: 'EAFNOSUPPORT', syscall: 'socket' });
      expect((e as Error).message).toMatch(/^socket EAFNOSUPPORT: .*\(AF_VSOCK, SOCK_STREAM\)$/);
    }
  });

  it.skipIf(!built)('connecting to CID 3 port 1024 fails with a clear error (no vsock peer here)', async () => {
    const err = (await connectVsock(3, 1024, { timeoutMs: 1500 }).then(
      (s) => {
        s.destroy();
        return undefined;
      },
      (e: unknown) => e,
    )) as (Error & { code?: string }) | undefined;
    expect(err, 'a vsock peer answered on CID 3 port 1024; this test expects none').toBeInstanceOf(Error);
    expect([
      'ENODEV',
      'ECONNREFUSED',
      'ECONNRESET',
      'ETIMEDOUT',
      'EHOSTUNREACH',
      'ENETUNREACH',
      'EAFNOSUPPORT',
    ]).toContain(err!.code);
    if (err!.code !== 'EAFNOSUPPORT') expect(err!.message).toMatch(/cid 3 port 1024/);
    // the generic ttrpc dialer goes through the same path for vsock:// addresses
    await expect(dial('vsock://3:1024', { dialTimeoutMs: 1500 })).rejects.toMatchObject({ code: err!.code });
  });

  it.skipIf(!built)('bad arguments throw TypeErrors naming the function and argument', () => {
    const n = loadNative();
    expect(() => (n.vsockConnect as unknown as (x: unknown) => void)('x')).toThrow(
      new TypeError("vsockConnect: argument 'fd' must be a number"),
    );
    expect(() => n.vsockConnect(0, -1, 1)).toThrow(
      new TypeError("vsockConnect: argument 'cid' must be an integer in [0, 2^32-1]"),
    );
    expect(() => n.vsockBind(0, 3, 1.5)).toThrow(
      new TypeError("vsockBind: argument 'port' must be an integer in [0, 2^32-1]"),
    );
    expect(() => n.ioctl(0, 1, 'str' as never)).toThrow(
      new TypeError("ioctl: argument 'buffer' must be a Buffer or Uint8Array"),
    );
    expect(() => n.ioctl(0, 1, new Uint16Array(2) as never)).toThrow(TypeError);
    expect(() => n.poll(0, 1, 10_000_000)).toThrow(new TypeError("poll: argument 'timeoutMs' must be at most 600000"));
    expect(() => n.close(Number.NaN)).toThrow(TypeError);
  });

  it.skipIf(!built)('system errors carry errno, code and syscall (EBADF, ENOTTY)', () => {
    const n = loadNative();
    const dir = mkdtempSync(path.join(os.tmpdir(), 'ccgpu-native-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const f = path.join(dir, 'plain');
    writeFileSync(f, 'x');
    const fd = openSync(f, 'r');
    cleanups.push(() => closeSync(fd));
    let e: unknown;
    try {
      n.ioctl(fd, 0x7a01, Buffer.alloc(8));
    } catch (x) {
      e = x;
    }
    expect(e).toMatchObject({ code: 'ENOTTY', syscall: 'ioctl', errno: -25 });
    expect((e as Error).message).toMatch(/^ioctl ENOTTY: .*\(fd \d+, request 0x00007a01\)$/);
    expect(() => n.close(1_000_000)).toThrow(expect.objectContaining({ code: 'EBADF', syscall: 'close' }));
  });

  it.skipIf(!built)('ioctl reaches the kernel: IOCTL_VM_SOCKETS_GET_LOCAL_CID on /dev/vsock fills the buffer', () => {
    if (!existsSync('/dev/vsock')) {
      console.warn('skipping GET_LOCAL_CID check: /dev/vsock is absent');
      return;
    }
    const n = loadNative();
    const fd = openSync('/dev/vsock', 'r');
    try {
      const buf = Buffer.alloc(4, 0xff);
      expect(n.ioctl(fd, n.vsockConstants.IOCTL_VM_SOCKETS_GET_LOCAL_CID, buf)).toBe(0);
      const cid = buf.readUInt32LE(0);
      expect(cid).not.toBe(0xffffffff); // the kernel overwrote our fill pattern
      expect(cid).toBeGreaterThanOrEqual(1);
    } finally {
      closeSync(fd);
    }
  });

  it.skipIf(!built)('listens on a vsock port (when the kernel supports AF_VSOCK) and closes cleanly', async () => {
    if (!vsockSupported()) {
      console.warn('skipping vsock listen check: AF_VSOCK not supported by this kernel');
      return;
    }
    const srv = listenVsock(0xfffffff0 - Math.floor(Math.random() * 1000), () => undefined);
    expect(srv.address.cid).toBe(0xffffffff);
    expect(srv.address.port).toBeGreaterThan(0xfffffff0 - 1001);
    await srv.close();
    await srv.close(); // idempotent
  });

  it.skipIf(!built)(
    'openStreamDevice/socketFromFd turn a raw stream fd into a working net.Socket (FIFO loopback)',
    async () => {
      const dir = mkdtempSync(path.join(os.tmpdir(), 'ccgpu-native-'));
      cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
      const fifo = path.join(dir, 'loop');
      execFileSync('mkfifo', [fifo]);
      const sock = openStreamDevice(fifo);
      cleanups.push(() => sock.destroy());
      const got = new Promise<string>((resolve) => sock.once('data', (d: Buffer) => resolve(d.toString())));
      sock.write('ping over a libuv stream handle');
      expect(await got).toBe('ping over a libuv stream handle');
      expect(() => socketFromFd(-1)).toThrow(TypeError);
      expect(() => openStreamDevice(path.join(dir, 'missing'))).toThrow(/cannot open stream device .*missing/);
      writeFileSync(path.join(dir, 'plain'), '');
      expect(() => openStreamDevice(path.join(dir, 'plain'))).toThrow(/is not a character device or FIFO/);
    },
  );
});

describe('waitpid (PID-1 orphan reaping in the guest)', () => {
  it('answers null for a running child and for a pid that is not a child; rejects bad pids', async () => {
    const { loadNative } = await import('../../../native/index.js');
    const { spawn } = await import('node:child_process');
    const n = loadNative();
    const c = spawn('sleep', ['5']);
    expect(n.waitpid(c.pid!)).toBeNull();
    expect(n.waitpid(1)).toBeNull();
    c.kill('SIGKILL');
    expect(() => n.waitpid(-1)).toThrow(TypeError);
    expect(() => n.waitpid('x' as unknown as number)).toThrow(/argument 'pid'/);
  });
});
