/**
 * One process of a container as the agent runs it: the init process (`runc run`) or an exec'd one (`runc exec`),
 * in the foreground, with the agent holding its stdio pipes. runc itself reports the process's exit status (code,
 * or 128+signal), so the agent never needs to wait for processes re-parented away from it; with
 * `process.terminal` runc allocates the pty and copies it to these same pipes.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import type { Writable } from 'node:stream';
import { socketFromFd } from '../../native/index.js';
import { openPty } from './pty.js';
import type { Logger } from 'pino';
import { CcgpuError, Code } from '../errors/index.js';
import { OutputBuffer } from './output-buffer.js';
import { lastRuncError } from './runc.js';

export interface ProcessLaunch {
  /** runc and its arguments (global flags included). */
  argv: string[];
  /** Where runc writes the container process's pid. */
  pidFile: string;
  /** runc's JSON log, read for the error message when runc fails before the process starts. */
  logFile: string;
  terminal: boolean;
  /** How long to wait for the pid file before the start is reported as failed. */
  startTimeoutMs: number;
}

export class ContainerProcess {
  readonly stdout: OutputBuffer;
  readonly stderr: OutputBuffer;
  /** The container process's pid (not runc's), once started. */
  pid = 0;
  private child: ChildProcess | undefined;
  private exitCode: number | undefined;
  private readonly exitWaiters: Array<(code: number) => void> = [];
  private stdinClosed = false;
  private stdin: Writable | undefined;

  constructor(
    readonly containerId: string,
    readonly execId: string,
    private readonly log: Logger,
  ) {
    this.stdout = new OutputBuffer(`${containerId}/${execId} stdout`);
    this.stderr = new OutputBuffer(`${containerId}/${execId} stderr`);
  }

  get started(): boolean {
    return this.child !== undefined;
  }

  get exited(): boolean {
    return this.exitCode !== undefined;
  }

  /** Starts runc and resolves once the container process exists (its pid file is written). */
  async start(l: ProcessLaunch): Promise<void> {
    if (this.child)
      throw new CcgpuError(`process ${this.containerId}/${this.execId} was already started`, {
        code: Code.FailedPrecondition,
      });
    const [cmd, ...args] = l.argv;
    let child: ChildProcess;
    if (l.terminal) {
      // runc copies the container's pty to a terminal of ours: output (stdout and stderr merged, as on any
      // terminal) and input go through our pty's master
      const pty = openPty();
      try {
        child = spawn(cmd!, args, { stdio: [pty.slave, pty.slave, pty.slave] });
      } finally {
        closeSync(pty.slave);
      }
      const master = socketFromFd(pty.master);
      master.on('error', (e) => this.log.debug({ err: e.message }, 'pty master error'));
      this.stdout.attach(master);
      this.stdin = master;
      this.stderr.end();
      child.once('exit', () => setTimeout(() => master.destroy(), 200));
    } else {
      child = spawn(cmd!, args, { stdio: ['pipe', 'pipe', 'pipe'] });
      child.stdin!.on('error', (e) => this.log.debug({ err: e.message }, 'stdin pipe error'));
      this.stdout.attach(child.stdout!);
      this.stderr.attach(child.stderr!);
      this.stdin = child.stdin!;
    }
    this.child = child;
    // observed only while waiting for the pid file; a later spawn error is handled by the 'error' listener below
    const spawnFailed = new Promise<never>((_, reject) =>
      child.once('error', (e) =>
        reject(new CcgpuError(`cannot run ${cmd}: ${e.message}`, { code: Code.Internal, cause: e })),
      ),
    );
    spawnFailed.catch(() => undefined);
    child.once('exit', (code, signal) => {
      const status = code ?? 128 + signalNumber(signal);
      this.exitCode = status;
      this.log.info({ container: this.containerId, exec: this.execId, status }, 'process exited');
      for (const w of this.exitWaiters.splice(0)) w(status);
    });
    child.once('error', () => {
      if (this.exitCode === undefined) {
        this.exitCode = 127;
        this.stdout.end();
        this.stderr.end();
        for (const w of this.exitWaiters.splice(0)) w(127);
      }
    });
    const deadline = Date.now() + l.startTimeoutMs;
    for (;;) {
      const pid = await readPid(l.pidFile);
      if (pid > 0) {
        this.pid = pid;
        return;
      }
      if (this.exitCode !== undefined) {
        const why = lastRuncError(l.logFile) ?? `runc exited with status ${this.exitCode} before the process started`;
        throw new CcgpuError(`${this.what()}: ${why}`, { code: Code.Internal });
      }
      if (Date.now() > deadline) {
        child.kill('SIGKILL');
        throw new CcgpuError(
          `${this.what()}: the process did not start within ${l.startTimeoutMs} ms (agent.launch_process_timeout)`,
          {
            code: Code.DeadlineExceeded,
          },
        );
      }
      await Promise.race([new Promise((r) => setTimeout(r, 20)), spawnFailed]);
    }
  }

  private what(): string {
    return this.execId === this.containerId
      ? `container ${this.containerId}`
      : `exec ${this.execId} in container ${this.containerId}`;
  }

  /** The exit status (code, or 128+signal); waits for the exit. */
  wait(): Promise<number> {
    if (this.exitCode !== undefined) return Promise.resolve(this.exitCode);
    return new Promise((resolve) => this.exitWaiters.push(resolve));
  }

  async writeStdin(data: Uint8Array): Promise<number> {
    const stdin = this.stdin;
    if (!stdin || this.stdinClosed || stdin.destroyed) {
      const why = !stdin
        ? 'the process has not started'
        : this.stdinClosed
          ? 'CloseStdin was called'
          : 'the process closed it';
      throw new CcgpuError(`${this.what()}: stdin is closed (${why})`, { code: Code.FailedPrecondition });
    }
    await new Promise<void>((resolve, reject) => stdin.write(Buffer.from(data), (e) => (e ? reject(e) : resolve())));
    return data.length;
  }

  closeStdin(): void {
    this.stdinClosed = true;
    if (this.stdin && this.stdin !== this.child?.stdin) {
      // a terminal has no half-close: send EOF (^D) as a terminal user would
      this.stdin.write(Buffer.from([4]));
    } else this.stdin?.end();
  }

  /** Signal the container process itself (not runc). */
  signal(sig: number): void {
    if (this.exitCode !== undefined) {
      throw new CcgpuError(`${this.what()} has already exited`, { code: Code.NotFound });
    }
    if (this.pid <= 0) throw new CcgpuError(`${this.what()} is not running`, { code: Code.FailedPrecondition });
    try {
      process.kill(this.pid, sig);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ESRCH') throw new CcgpuError(`${this.what()} (pid ${this.pid}) is gone`, { code: Code.NotFound });
      throw new CcgpuError(`cannot signal ${this.what()} (pid ${this.pid}): ${(e as Error).message}`, {
        code: Code.Internal,
      });
    }
  }

  /** Kills runc (and with it a process that never started). */
  abort(): void {
    this.child?.kill('SIGKILL');
  }
}

async function readPid(file: string): Promise<number> {
  try {
    const text = (await readFile(file, 'utf8')).trim();
    return /^\d+$/.test(text) ? Number(text) : 0;
  } catch {
    return 0;
  }
}

const SIGNALS: Record<string, number> = {
  SIGHUP: 1,
  SIGINT: 2,
  SIGQUIT: 3,
  SIGILL: 4,
  SIGTRAP: 5,
  SIGABRT: 6,
  SIGBUS: 7,
  SIGFPE: 8,
  SIGKILL: 9,
  SIGUSR1: 10,
  SIGSEGV: 11,
  SIGUSR2: 12,
  SIGPIPE: 13,
  SIGALRM: 14,
  SIGTERM: 15,
};

function signalNumber(signal: NodeJS.Signals | null): number {
  return signal ? (SIGNALS[signal] ?? 1) : 1;
}
