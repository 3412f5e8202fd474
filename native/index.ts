/**
 * ccgpu native addon (node-addon-api, built with node-gyp into native/build/Release/ccgpu_native.node):
 * AF_VSOCK sockets wrapped as Node sockets, plus generic `ioctl`, `poll` and `close` on descriptors for the
 * device wrappers (/dev/sev-guest, /dev/tdx_guest, VFIO) built on top.
 *
 * Node's `net.Socket({ fd })` refuses AF_VSOCK descriptors (libuv only recognises unix and inet sockets), so a
 * connected vsock fd is opened as a libuv stream "pipe" handle, which reads and writes any stream socket.
 */
import { closeSync, constants as fsConstants, existsSync, openSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export interface VsockAddress {
  cid: number;
  port: number;
}

export interface NativeAddon {
  vsockSocket(): number;
  vsockConnect(fd: number, cid: number, port: number): boolean;
  vsockBind(fd: number, cid: number, port: number): void;
  vsockListen(fd: number, backlog?: number): void;
  vsockAccept(fd: number): (VsockAddress & { fd: number }) | null;
  vsockLocalAddress(fd: number): VsockAddress;
  vsockRemoteAddress(fd: number): VsockAddress;
  socketError(fd: number): number;
  close(fd: number): void;
  ioctl(fd: number, request: number, buffer?: Uint8Array | null): number;
  poll(fd: number, events: number, timeoutMs: number): Promise<number>;
  /** waitpid(pid, WNOHANG unless nohang=false): null while running / not a child, else how it ended. */
  waitpid(
    pid: number,
    nohang?: boolean,
  ): { pid: number; exited: boolean; code: number; signaled: boolean; signal: number } | null;
  vsockConstants: {
    AF_VSOCK: number;
    VMADDR_CID_ANY: number;
    VMADDR_CID_HOST: number;
    VMADDR_CID_LOCAL: number;
    VMADDR_PORT_ANY: number;
    IOCTL_VM_SOCKETS_GET_LOCAL_CID: number;
  };
  pollConstants: { POLLIN: number; POLLOUT: number; POLLERR: number; POLLHUP: number; POLLNVAL: number };
  abiVersion: number;
}

/** Where the built addon is looked for (first existing wins). */
export function addonCandidates(): string[] {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const env = process.env.CCGPU_NATIVE_ADDON;
  return [
    ...(env ? [env] : []),
    path.join(here, 'build', 'Release', 'ccgpu_native.node'),
    // compiled layout: dist/native/index.js → <repo>/native/build
    path.resolve(here, '..', '..', 'native', 'build', 'Release', 'ccgpu_native.node'),
  ];
}

let addon: NativeAddon | undefined;

/** Load the addon from the first existing candidate; throws an Error saying how to build it when none exists. */
export function loadAddonFrom(candidates: readonly string[]): NativeAddon {
  const file = candidates.find((p) => existsSync(p));
  if (!file) {
    throw new Error(
      `ccgpu native addon is not built (looked for ${candidates.join(', ')}); ` +
        'build it with `npm run build:native` (runs `node-gyp rebuild --directory native`; needs g++, make, python3 and Node headers)',
    );
  }
  const require = createRequire(import.meta.url);
  return require(file) as NativeAddon;
}

/** The loaded addon (cached); throws an Error saying how to build it when it is missing. */
export function loadNative(): NativeAddon {
  addon ??= loadAddonFrom(addonCandidates());
  return addon;
}

/** True when the addon can be loaded. */
export function nativeAvailable(): boolean {
  try {
    loadNative();
    return true;
  } catch {
    return false;
  }
}

interface PipeHandle {
  open(fd: number): number;
}
interface PipeWrap {
  Pipe: new (type: number) => PipeHandle;
  constants: { SOCKET: number };
}

/** Wrap a connected stream-socket fd of any family as a net.Socket (the socket owns the fd afterwards). */
export function socketFromFd(fd: number): net.Socket {
  if (!Number.isInteger(fd) || fd < 0)
    throw new TypeError(`socketFromFd: fd must be a non-negative integer, got ${fd}`);
  // process.binding is deprecated but the only public way to get a libuv stream handle for a non-inet socket.
  const binding = (process as unknown as { binding(name: string): unknown }).binding('pipe_wrap') as PipeWrap;
  const handle = new binding.Pipe(binding.constants.SOCKET);
  const rc = handle.open(fd);
  if (rc !== 0) throw new Error(`cannot open fd ${fd} as a stream (libuv error ${rc})`);
  const sock = new net.Socket({ handle: handle as never, readable: true, writable: true } as net.SocketConstructorOpts);
  return sock;
}

/**
 * Open a character device or FIFO (e.g. a virtio-serial port such as /dev/vport0p1 in the guest) read-write and
 * non-blocking as a Node stream, so ttrpc can run over it.
 */
export function openStreamDevice(devicePath: string): net.Socket {
  let st;
  try {
    st = statSync(devicePath);
  } catch (e) {
    throw new Error(`cannot open stream device ${devicePath}: ${(e as Error).message}`);
  }
  if (!st.isCharacterDevice() && !st.isFIFO()) {
    throw new TypeError(`${devicePath} is not a character device or FIFO`);
  }
  const fd = openSync(devicePath, fsConstants.O_RDWR | fsConstants.O_NONBLOCK | fsConstants.O_NOCTTY);
  try {
    return socketFromFd(fd);
  } catch (e) {
    closeSync(fd);
    throw e;
  }
}

function vsockError(message: string, code: string, errno?: number): Error {
  const e = new Error(message) as Error & { code: string; errno?: number };
  e.code = code;
  if (errno !== undefined) e.errno = -errno;
  return e;
}

/** Connect to (cid, port) over AF_VSOCK; resolves to a Node socket. Errors carry `code` (ENODEV, ETIMEDOUT, ...). */
export async function connectVsock(cid: number, port: number, opts: { timeoutMs?: number } = {}): Promise<net.Socket> {
  const n = loadNative();
  const fd = n.vsockSocket();
  try {
    const connected = n.vsockConnect(fd, cid, port);
    if (!connected) {
      const timeoutMs = opts.timeoutMs ?? 30_000;
      const revents = await n.poll(fd, n.pollConstants.POLLOUT, Math.min(timeoutMs, 600_000));
      if (revents === 0) {
        throw vsockError(
          `connect ETIMEDOUT: vsock cid ${cid} port ${port} did not answer within ${timeoutMs}ms`,
          'ETIMEDOUT',
        );
      }
      const err = n.socketError(fd);
      if (err !== 0) {
        throw vsockError(`connect to vsock cid ${cid} port ${port} failed: errno ${err}`, `E${err}`, err);
      }
    }
    return socketFromFd(fd);
  } catch (e) {
    try {
      n.close(fd);
    } catch {
      /* already closed */
    }
    throw e;
  }
}

export interface VsockServer {
  readonly address: VsockAddress;
  close(): Promise<void>;
}

/**
 * Listen on AF_VSOCK `port` (any CID by default, like the kata agent's `vsock://-1:1024`) and hand each accepted
 * connection to `onConnection` as a Node socket.
 */
export function listenVsock(
  port: number,
  onConnection: (socket: net.Socket, peer: VsockAddress) => void,
  opts: { cid?: number; backlog?: number } = {},
): VsockServer {
  const n = loadNative();
  const fd = n.vsockSocket();
  try {
    n.vsockBind(fd, opts.cid ?? n.vsockConstants.VMADDR_CID_ANY, port);
    n.vsockListen(fd, opts.backlog ?? 128);
  } catch (e) {
    n.close(fd);
    throw e;
  }
  const address = n.vsockLocalAddress(fd);
  let open = true;
  const loop = (async () => {
    while (open) {
      const revents = await n.poll(fd, n.pollConstants.POLLIN, 250);
      if (!open) break;
      if (revents & n.pollConstants.POLLNVAL) break;
      if (!(revents & n.pollConstants.POLLIN)) continue;
      for (;;) {
        const c = n.vsockAccept(fd);
        if (!c) break;
        onConnection(socketFromFd(c.fd), { cid: c.cid, port: c.port });
      }
    }
  })();
  return {
    address,
    async close() {
      if (!open) return;
      open = false;
      await loop.catch(() => undefined);
      n.close(fd);
    },
  };
}

/** This machine's vsock CID (IOCTL_VM_SOCKETS_GET_LOCAL_CID on /dev/vsock). */
export function localVsockCid(): number {
  const n = loadNative();
  const fd = openSync('/dev/vsock', 'r');
  try {
    const buf = Buffer.alloc(4);
    n.ioctl(fd, n.vsockConstants.IOCTL_VM_SOCKETS_GET_LOCAL_CID, buf);
    return buf.readUInt32LE(0);
  } finally {
    closeSync(fd);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Confidential-guest report ioctls (/dev/sev-guest, /dev/tdx_guest) and NVML (dlopen of libnvidia-ml.so.1).
// Structurally these satisfy attestation/agent's `GuestDeviceIoctl` and `NvmlBinding`.

/** The tee-guest and NVML functions of the addon (src/tee-guest.cc, src/nvml.cc). */
export interface TeeGuestNvmlAddon {
  snpGetReport(device: string, msgVersion: number, req: Uint8Array, resp: Uint8Array): bigint;
  snpMarshalRequest(
    msgVersion: number,
    req: Uint8Array,
    resp: Uint8Array,
  ): { arg: Buffer; reqAddress: bigint; respAddress: bigint };
  tdxGetReport0(device: string, arg: Uint8Array): void;
  teeGuestConstants: {
    SNP_GET_REPORT: number;
    TDX_CMD_GET_REPORT0: number;
    SNP_GUEST_REQUEST_IOCTL_SIZE: number;
    SNP_REPORT_REQ_SIZE: number;
    SNP_REPORT_RESP_SIZE: number;
    TDX_REPORT_REQ_SIZE: number;
    checkedAgainstSevGuestHeader: boolean;
  };
  nvmlOpen(library?: string): void;
  nvmlDeviceCount(): number;
  nvmlDeviceUuid(index: number): string;
  nvmlDeviceArchitecture(index: number): number;
  nvmlAttestationReport(index: number, nonce: Uint8Array): Promise<Buffer>;
  nvmlCertificateChain(index: number): Promise<Buffer>;
  nvmlClose(): void;
}

/** The addon's tee-guest / NVML functions; throws (with build instructions) when the addon is missing or stale. */
export function loadTeeGuestNvml(): TeeGuestNvmlAddon {
  const n = loadNative() as unknown as Partial<TeeGuestNvmlAddon>;
  if (typeof n.snpGetReport !== 'function' || typeof n.nvmlOpen !== 'function') {
    throw new Error(
      'the ccgpu native addon predates the tee-guest/NVML functions; rebuild it with `npm run build:native`',
    );
  }
  return n as TeeGuestNvmlAddon;
}

/**
 * SNP_GET_REPORT on `device` (/dev/sev-guest): `req` is struct snp_report_req (96 bytes), `resp` (4000 bytes) receives
 * MSG_REPORT_RSP. Resolves with exitinfo2; rejects with an Error carrying errno, code and exitinfo2.
 */
export async function snpGetReport(
  device: string,
  msgVersion: number,
  req: Uint8Array,
  resp: Uint8Array,
): Promise<bigint> {
  return loadTeeGuestNvml().snpGetReport(device, msgVersion, req, resp);
}

/** TDX_CMD_GET_REPORT0 on `device` (/dev/tdx_guest) with the flat 1088-byte struct tdx_report_req (filled in). */
export async function tdxGetReport0(device: string, arg: Uint8Array): Promise<void> {
  loadTeeGuestNvml().tdxGetReport0(device, arg);
}

/** The ioctl fallback for the SNP / TDX attesters (attestation/agent `GuestDeviceIoctl`). */
export const guestDeviceIoctl = { snpGetReport, tdxGetReport0 };

/** nvmlDeviceArchitecture_t values → the names the verifiers expect. */
export const NVML_ARCHITECTURES: Readonly<Record<number, string>> = {
  2: 'KEPLER',
  3: 'MAXWELL',
  4: 'PASCAL',
  5: 'VOLTA',
  6: 'TURING',
  7: 'AMPERE',
  8: 'ADA',
  9: 'HOPPER',
  10: 'BLACKWELL',
};

/** NVML for GPU attestation (attestation/agent `NvmlBinding`), plus `close()`. */
export interface NvmlDevices {
  deviceCount(): Promise<number>;
  uuid(index: number): Promise<string>;
  architecture(index: number): Promise<string>;
  attestationReport(index: number, nonce: Buffer): Promise<Buffer>;
  certificateChain(index: number): Promise<Buffer>;
  close(): void;
}

/**
 * dlopen NVML (default libnvidia-ml.so.1) and initialise it. Throws an Error with code ENVMLLOAD when the library is
 * absent, ENVMLSYM when it lacks a needed symbol, ENVML when NVML itself fails (nvmlReturn set).
 */
export function openNvml(library?: string): NvmlDevices {
  const n = loadTeeGuestNvml();
  n.nvmlOpen(library);
  return {
    deviceCount: async () => n.nvmlDeviceCount(),
    uuid: async (i) => n.nvmlDeviceUuid(i),
    architecture: async (i) => {
      const a = n.nvmlDeviceArchitecture(i);
      return NVML_ARCHITECTURES[a] ?? `UNKNOWN(${a})`;
    },
    attestationReport: async (i, nonce) => n.nvmlAttestationReport(i, nonce),
    certificateChain: async (i) => n.nvmlCertificateChain(i),
    close: () => n.nvmlClose(),
  };
}
