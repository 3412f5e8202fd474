/**
 * Bare-QEMU boot harness for the guest image: boots kernel + initramfs (+ optional rootfs disk) under TCG with the
 * agent channel on virtio-serial (a unix socket on the host) and the kernel console (ttyS0) in a log file, so a test
 * can talk to the guest and show what the guest printed when something fails. Only for tests and benchmarks of the
 * image; the production command line is built by src/hypervisor/qemu.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFile, rm, access } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { TimeoutError, HypervisorError } from '../errors/index.js';

export interface BootGuestOptions {
  kernel: string;
  initrd: string;
  append?: string;
  /** Host end of the virtio-serial port `agent.channel.0` (QEMU listens, the test connects). */
  serialSocketPath: string;
  /** Kernel console output (ttyS0). Default: next to the socket, `<socket>.console.log`. */
  consoleLogPath?: string;
  /** Read-only rootfs image attached as virtio-blk (/dev/vda). */
  rootfsImage?: string;
  memoryMiB?: number;
  cpus?: number;
  /** Kill QEMU after this long. Default 120 s. */
  timeoutMs?: number;
  qemuBinary?: string;
  /** Port name inside the guest. Default agent.channel.0. */
  portName?: string;
}

export interface GuestExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  /** Milliseconds since QEMU was started. */
  elapsedMs: number;
}

export interface BootedGuest {
  readonly process: ChildProcess;
  readonly args: string[];
  readonly startedAt: number;
  readonly consoleLogPath: string;
  /** Resolves when QEMU exits (never rejects; a timeout kill reports timedOut). */
  readonly exited: Promise<GuestExit>;
  /** Connects to the agent channel socket, retrying until QEMU has created it. */
  connect(timeoutMs?: number): Promise<net.Socket>;
  /** What the guest printed on its console so far. */
  consoleOutput(): Promise<string>;
  /** Kills QEMU (SIGKILL) and waits for it. */
  kill(): Promise<GuestExit>;
}

export const DEFAULT_QEMU = 'qemu-system-x86_64';

export function qemuArgs(o: BootGuestOptions, consoleLogPath: string): string[] {
  const args = [
    '-machine',
    'q35,accel=tcg',
    '-cpu',
    'max',
    '-smp',
    String(o.cpus ?? 1),
    '-m',
    String(o.memoryMiB ?? 1024),
    '-nographic',
    '-nodefaults',
    '-no-reboot',
    '-kernel',
    o.kernel,
    '-initrd',
    o.initrd,
    '-append',
    o.append ?? 'console=ttyS0 panic=1',
    '-serial',
    `file:${consoleLogPath}`,
    '-device',
    'virtio-serial-pci,id=serial0',
    '-chardev',
    `socket,id=agent,path=${o.serialSocketPath},server=on,wait=off`,
    '-device',
    `virtserialport,bus=serial0.0,chardev=agent,name=${o.portName ?? 'agent.channel.0'}`,
  ];
  if (o.rootfsImage) {
    args.push(
      '-drive',
      `file=${o.rootfsImage},if=none,id=rootfs,format=raw,readonly=on`,
      '-device',
      'virtio-blk-pci,drive=rootfs',
    );
  }
  return args;
}

/** Whether a QEMU binary is runnable here (tests skip with a visible reason otherwise). */
export async function haveQemu(qemu = DEFAULT_QEMU): Promise<boolean> {
  return new Promise((resolve) => {
    const p = spawn(qemu, ['--version'], { stdio: 'ignore' });
    p.on('error', () => resolve(false));
    p.on('close', (code) => resolve(code === 0));
  });
}

export async function bootGuest(o: BootGuestOptions): Promise<BootedGuest> {
  const consoleLogPath = o.consoleLogPath ?? `${o.serialSocketPath}.console.log`;
  const timeoutMs = o.timeoutMs ?? 120_000;
  await rm(o.serialSocketPath, { force: true });
  await rm(consoleLogPath, { force: true });
  const args = qemuArgs(o, consoleLogPath);
  const qemu = o.qemuBinary ?? DEFAULT_QEMU;
  const startedAt = Date.now();
  const child = spawn(qemu, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stdout?.on('data', () => undefined);
  child.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString();
    if (stderr.length > 16_384) stderr = stderr.slice(-16_384);
  });
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill('SIGKILL');
  }, timeoutMs);
  const onHostExit = () => child.kill('SIGKILL');
  process.once('exit', onHostExit);
  const exited = new Promise<GuestExit>((resolve) => {
    let done = false;
    const finish = (code: number | null, signal: NodeJS.Signals | null) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      process.removeListener('exit', onHostExit);
      resolve({ code, signal, timedOut, elapsedMs: Date.now() - startedAt });
    };
    child.on('error', () => finish(null, null));
    child.on('close', finish);
  });
  const spawnError = await new Promise<Error | undefined>((resolve) => {
    child.once('spawn', () => resolve(undefined));
    child.once('error', (e) => resolve(e));
  });
  if (spawnError) throw new HypervisorError(`cannot start ${qemu}: ${spawnError.message}`, spawnError);

  const connect = async (connectTimeoutMs = 10_000): Promise<net.Socket> => {
    const deadline = Date.now() + connectTimeoutMs;
    for (;;) {
      if (child.exitCode !== null || child.signalCode !== null) {
        throw new HypervisorError(`QEMU exited before the agent channel was connected: ${stderr.trim()}`);
      }
      try {
        await access(o.serialSocketPath);
        return await new Promise<net.Socket>((resolve, reject) => {
          const s = net.connect(o.serialSocketPath);
          s.once('connect', () => {
            s.removeListener('error', reject);
            resolve(s);
          });
          s.once('error', reject);
        });
      } catch {
        if (Date.now() > deadline)
          throw new TimeoutError(`connecting to ${path.basename(o.serialSocketPath)}`, connectTimeoutMs);
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  };
  return {
    process: child,
    args,
    startedAt,
    consoleLogPath,
    exited,
    connect,
    consoleOutput: async () => {
      const text = await readFile(consoleLogPath, 'utf8').catch(() => '');
      return stderr ? `${text}\n[qemu stderr]\n${stderr}` : text;
    },
    kill: async () => {
      child.kill('SIGKILL');
      return exited;
    },
  };
}

/** Reads newline-terminated lines from a socket. */
export class LineReader {
  private buf = '';
  private readonly waiters: Array<(l: string | null) => void> = [];
  private readonly lines: string[] = [];
  private ended = false;

  constructor(sock: net.Socket) {
    sock.setEncoding('utf8');
    sock.on('data', (d: string) => {
      this.buf += d;
      let i;
      while ((i = this.buf.indexOf('\n')) >= 0) {
        const line = this.buf.slice(0, i).replace(/\r$/, '');
        this.buf = this.buf.slice(i + 1);
        const w = this.waiters.shift();
        if (w) w(line);
        else this.lines.push(line);
      }
    });
    const end = () => {
      this.ended = true;
      for (const w of this.waiters.splice(0)) w(null);
    };
    sock.on('end', end);
    sock.on('close', end);
    sock.on('error', end);
  }

  /** The next line, or null when the socket closed; rejects with TimeoutError after `timeoutMs`. */
  next(timeoutMs: number, what = 'a line from the guest'): Promise<string | null> {
    const queued = this.lines.shift();
    if (queued !== undefined) return Promise.resolve(queued);
    if (this.ended) return Promise.resolve(null);
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => {
        const i = this.waiters.indexOf(w);
        if (i >= 0) this.waiters.splice(i, 1);
        reject(new TimeoutError(what, timeoutMs));
      }, timeoutMs);
      const w = (l: string | null) => {
        clearTimeout(t);
        resolve(l);
      };
      this.waiters.push(w);
    });
  }
}
