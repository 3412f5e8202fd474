/**
 * The one way ccgpu starts external processes (QEMU, runc, mount, containerd in tests): output goes to the logger
 * line by line, the exit is always observed (Node reaps its children), and every live child is killed if the parent
 * exits. Shared by host and guest code.
 */
import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import readline from 'node:readline';
import type { Logger } from 'pino';
import { CcgpuError, Code, TimeoutError } from '../errors/index.js';

export interface ExitStatus {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface Spawned {
  child: ChildProcess;
  pid: number;
  name: string;
  /** Resolves once the process has exited (never rejects). */
  exited: Promise<ExitStatus>;
  /** Whether the process is still running. */
  running(): boolean;
  kill(signal?: NodeJS.Signals | number): void;
}

const live = new Set<ChildProcess>();
let exitHookInstalled = false;
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const c of live) {
      try {
        c.kill('SIGKILL');
      } catch {
        /* already gone */
      }
    }
  });
}

export interface SpawnOptions {
  logger: Logger;
  /** Short name used in logs (`qemu`, `runc`). */
  name?: string;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Extra fds passed to the child as fd 3, 4, ... */
  extraFds?: number[];
  /** Pipe stdin (default: ignore). */
  stdin?: 'pipe' | 'ignore';
  /** Capture stdout for the caller instead of logging it. */
  captureStdout?: boolean;
  /** How a stderr/stdout line is logged; default: `warning:` lines at warn, others at info. */
  classify?: (line: string, stream: 'stdout' | 'stderr') => 'debug' | 'info' | 'warn' | 'error';
  /** Keep the child running if this process exits (daemons). */
  detached?: boolean;
}

export function spawnLogged(cmd: string, args: string[], opts: SpawnOptions): Spawned {
  const name = opts.name ?? cmd.split('/').pop() ?? cmd;
  const stdio: StdioOptions = [opts.stdin ?? 'ignore', 'pipe', 'pipe', ...(opts.extraFds ?? [])];
  const child = spawn(cmd, args, {
    cwd: opts.cwd,
    env: opts.env ?? process.env,
    stdio,
    detached: opts.detached ?? false,
  });
  const log = opts.logger.child({ proc: name });
  const classify =
    opts.classify ?? ((line: string) => (/warning:/i.test(line) ? 'warn' : /error/i.test(line) ? 'error' : 'info'));
  const pipeLines = (stream: NodeJS.ReadableStream | null, which: 'stdout' | 'stderr'): void => {
    if (!stream) return;
    readline.createInterface({ input: stream }).on('line', (line) => {
      if (line.length > 0) log[classify(line, which)]({ stream: which }, line);
    });
  };
  if (!opts.captureStdout) pipeLines(child.stdout, 'stdout');
  pipeLines(child.stderr, 'stderr');

  let done = false;
  const exited = new Promise<ExitStatus>((resolve) => {
    child.once('error', (err) => {
      log.error({ err: err.message }, `${name} could not be started`);
      done = true;
      live.delete(child);
      resolve({ code: 127, signal: null });
    });
    child.once('exit', (code, signal) => {
      done = true;
      live.delete(child);
      log.debug({ code, signal }, `${name} exited`);
      resolve({ code, signal });
    });
  });
  if (!opts.detached) {
    installExitHook();
    live.add(child);
  }
  return {
    child,
    pid: child.pid ?? -1,
    name,
    exited,
    running: () => !done,
    kill: (signal = 'SIGTERM') => {
      if (!done) child.kill(signal);
    },
  };
}

export interface RunResult {
  stdout: string;
  stderr: string;
  code: number;
}

export class CommandError extends CcgpuError {
  constructor(
    readonly command: string,
    readonly result: RunResult,
  ) {
    super(`${command} failed (exit ${result.code}): ${result.stderr.trim() || result.stdout.trim() || 'no output'}`, {
      code: Code.Internal,
    });
  }
}

/** Runs a command to completion and returns its output; throws CommandError on a non-zero exit. */
export async function runCommand(
  cmd: string,
  args: string[],
  opts: {
    timeoutMs?: number;
    input?: string | Buffer;
    cwd?: string;
    env?: NodeJS.ProcessEnv;
    allowFailure?: boolean;
  } = {},
): Promise<RunResult> {
  const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ['pipe', 'pipe', 'pipe'] });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout.on('data', (d: Buffer) => out.push(d));
  child.stderr.on('data', (d: Buffer) => err.push(d));
  child.stdin.on('error', () => undefined);
  child.stdin.end(opts.input ?? '');
  let timer: NodeJS.Timeout | undefined;
  const result = await new Promise<RunResult>((resolve, reject) => {
    if (opts.timeoutMs) {
      timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new TimeoutError(`${cmd} ${args.join(' ')}`.slice(0, 200), opts.timeoutMs!));
      }, opts.timeoutMs);
    }
    child.once('error', (e) =>
      reject(new CcgpuError(`cannot run ${cmd}: ${e.message}`, { code: Code.Internal, cause: e })),
    );
    child.once('close', (code, signal) =>
      resolve({
        stdout: Buffer.concat(out).toString(),
        stderr: Buffer.concat(err).toString(),
        code: code ?? (signal ? 128 : 1),
      }),
    );
  }).finally(() => clearTimeout(timer));
  if (result.code !== 0 && !opts.allowFailure) throw new CommandError(`${cmd} ${args.join(' ')}`.slice(0, 300), result);
  return result;
}
