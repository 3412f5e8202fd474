/**
 * A running QEMU guest: started from a built command line with the QMP listener passed as an inherited fd, QMP
 * connected, exit detected at any time, stopped with `quit` then SIGKILL after a grace period.
 */
import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import net from 'node:net';
import readline from 'node:readline';
import path from 'node:path';
import type { Logger } from 'pino';
import { HypervisorError, errorMessage } from '../../errors/index.js';
import { spawnLogged, type ExitStatus, type Spawned } from '../../subprocess/index.js';
import { createInheritableUnixListener } from '../../subprocess/unix-listener.js';
import type { QemuCommandLine } from './cmdline.js';
import { QmpClient } from './qmp.js';

export interface StartVmOptions {
  cmdline: QemuCommandLine;
  /** Where the QMP socket lives (`<runDir>/qmp.sock`). */
  qmpSocket: string;
  /** The fd number the command line names in `-qmp unix:fd=N` (3). */
  qmpFd: number;
  /** Further fds to pass after the QMP fd (fd qmpFd+1, ...), e.g. /dev/vhost-vsock. */
  extraFds?: number[];
  logger: Logger;
  /** Bound on QEMU starting and answering QMP. */
  startTimeoutMs?: number;
  /** Run QEMU through this prefix (tests: `chroot <dir>`). */
  wrapper?: string[];
  /** The guest console's socket (`-chardev socket,...,server=on`): its lines go to the log at debug level. */
  consoleSocket?: string;
}

export class QemuVm extends EventEmitter {
  private exitStatus: ExitStatus | undefined;
  private stopping = false;

  private constructor(
    readonly proc: Spawned,
    readonly qmp: QmpClient,
    private readonly log: Logger,
  ) {
    super();
    void proc.exited.then((st) => {
      this.exitStatus = st;
      qmp.close();
      if (!this.stopping) this.log.error({ code: st.code, signal: st.signal }, 'QEMU exited unexpectedly');
      this.emit('exit', st);
    });
  }

  get pid(): number {
    return this.proc.pid;
  }

  get exited(): Promise<ExitStatus> {
    return this.proc.exited;
  }

  get running(): boolean {
    return this.exitStatus === undefined;
  }

  static async start(opts: StartVmOptions): Promise<QemuVm> {
    const log = opts.logger.child({ component: 'qemu' });
    if (opts.qmpFd !== 3)
      throw new HypervisorError(`the QMP listener must be fd 3 in QEMU (the command line says ${opts.qmpFd})`);
    fs.mkdirSync(path.dirname(opts.qmpSocket), { recursive: true, mode: 0o750 });
    const listener = await createInheritableUnixListener(opts.qmpSocket);
    const [cmd, ...pre] = [...(opts.wrapper ?? []), opts.cmdline.binary];
    for (const w of opts.cmdline.warnings) log.warn(w);
    log.info({ binary: opts.cmdline.binary, args: opts.cmdline.args }, 'starting QEMU');
    let proc: Spawned;
    const stderrTail: string[] = [];
    try {
      proc = spawnLogged(cmd!, [...pre, ...opts.cmdline.args], {
        logger: log,
        name: 'qemu',
        extraFds: [listener.fd, ...(opts.extraFds ?? [])],
        classify: (line) => {
          stderrTail.push(line);
          if (stderrTail.length > 20) stderrTail.shift();
          return /warning:/.test(line) ? 'warn' : 'error';
        },
      });
    } finally {
      await listener.release();
    }
    const timeoutMs = opts.startTimeoutMs ?? 30_000;
    const early = proc.exited.then((st) => {
      throw new HypervisorError(
        `QEMU exited during start (code ${st.code}, signal ${st.signal}): ${stderrTail.join(' | ') || 'no output'}`,
      );
    });
    try {
      const qmp = await Promise.race([QmpClient.connect(opts.qmpSocket, { timeoutMs, logger: log }), early]);
      early.catch(() => undefined);
      const vm = new QemuVm(proc, qmp, log);
      if (opts.consoleSocket) vm.followConsole(opts.consoleSocket);
      return vm;
    } catch (e) {
      early.catch(() => undefined);
      proc.kill('SIGKILL');
      await proc.exited;
      throw e instanceof HypervisorError ? e : new HypervisorError(`QEMU did not answer QMP: ${errorMessage(e)}`, e);
    }
  }

  /** Reads the guest console into the log (debug level) until QEMU goes away. */
  private followConsole(socketPath: string): void {
    const clog = this.log.child({ component: 'guest-console' });
    const sock = net.createConnection(socketPath);
    sock.on('error', (e) => clog.debug({ err: errorMessage(e) }, 'console not followed'));
    readline.createInterface({ input: sock }).on('line', (line) => clog.debug(line.replace(/\r$/, '')));
    void this.proc.exited.then(() => sock.destroy());
  }

  /** Stops the guest: QMP `quit`, then SIGKILL after `graceMs`. Resolves once QEMU has exited. */
  async stop(graceMs = 5_000): Promise<ExitStatus> {
    this.stopping = true;
    if (this.exitStatus) return this.exitStatus;
    try {
      await this.qmp.execute('quit', undefined, { timeoutMs: Math.min(graceMs, 2_000) });
    } catch (e) {
      this.log.debug({ err: errorMessage(e) }, 'QMP quit did not answer; will kill');
    }
    const timer = setTimeout(() => this.proc.kill('SIGKILL'), graceMs);
    const st = await this.proc.exited;
    clearTimeout(timer);
    return st;
  }
}
