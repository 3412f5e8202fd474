/**
 * A private containerd for the live demo: its own root, state, sockets and config under a work directory (never the
 * machine's /var/lib/containerd), the ccgpu shim first on its PATH, stopped when the demo ends.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a command to completion without blocking the event loop; never rejects. */
export function runCollecting(
  cmd: string,
  args: string[],
  o: { input?: string; timeoutMs?: number; env?: NodeJS.ProcessEnv } = {},
): Promise<CommandResult> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { env: o.env ?? process.env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdin.on('error', () => undefined);
    child.stdin.end(o.input ?? '');
    const timer = setTimeout(() => {
      stderr += `\n(${cmd} timed out after ${o.timeoutMs} ms; killed)`;
      child.kill('SIGKILL');
    }, o.timeoutMs ?? 300_000);
    child.once('error', (e) => {
      clearTimeout(timer);
      resolve({ code: 127, stdout, stderr: `${stderr}${e.message}` });
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? (signal ? 128 : 1), stdout, stderr });
    });
  });
}

/** How to run containerd (defaults: `containerd` on PATH, config version 2, info logging). */
export interface ContainerdLaunchOptions {
  /** containerd binary. */
  binary?: string;
  /** A command prefix, e.g. `chroot DIR` for containerd 2.x from the forky chroot. */
  wrapper?: string[];
  configVersion?: 2 | 3;
  /** containerd's log level "debug". */
  debug?: boolean;
  /** Added to this process's environment (the shim inherits it). */
  env?: NodeJS.ProcessEnv;
}

export interface LaunchedContainerd {
  socket: string;
  logFile: string;
  proc: ChildProcess;
  /** The environment containerd runs with (shimDir first on PATH). */
  env: NodeJS.ProcessEnv;
}

/**
 * Starts containerd with its own root, state, sockets and config under `dir` and `shimDir` (holding
 * containerd-shim-ccgpu-v2) first on its PATH; resolves once its socket exists.
 */
export async function launchContainerd(
  dir: string,
  shimDir: string,
  o: ContainerdLaunchOptions = {},
): Promise<LaunchedContainerd> {
  fs.mkdirSync(dir, { recursive: true });
  const socket = path.join(dir, 'containerd.sock');
  const config = path.join(dir, 'config.toml');
  const version = o.configVersion ?? 2;
  fs.writeFileSync(
    config,
    [
      `version = ${version}`,
      `root = "${dir}/root"`,
      `state = "${dir}/state"`,
      '[grpc]',
      `  address = "${socket}"`,
      '[ttrpc]',
      `  address = "${socket}.ttrpc"`,
      ...(o.debug ? ['[debug]', '  level = "debug"'] : []),
      '[plugins]',
      ...(version === 3
        ? ['  [plugins."io.containerd.cri.v1.runtime"]', '  [plugins."io.containerd.grpc.v1.cri"]']
        : ['  [plugins."io.containerd.grpc.v1.cri"]', '    disable_tcp_service = true']),
    ].join('\n') + '\n',
  );
  const logFile = path.join(dir, 'containerd.log');
  const out = fs.openSync(logFile, 'a');
  const env = {
    ...process.env,
    ...o.env,
    PATH: `${shimDir}:${process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin'}`,
  };
  const [cmd, ...pre] = [...(o.wrapper ?? []), o.binary ?? 'containerd'];
  const proc = spawn(cmd!, [...pre, '--config', config], { stdio: ['ignore', out, out], env });
  fs.closeSync(out);
  const deadline = Date.now() + 20_000;
  while (!fs.existsSync(socket)) {
    if (proc.exitCode !== null || Date.now() > deadline) {
      proc.kill('SIGKILL');
      throw new Error(
        `containerd did not start; its log ${logFile} ends with:\n${fs.readFileSync(logFile, 'utf8').slice(-1500)}`,
      );
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { socket, logFile, proc, env };
}

/** SIGTERM, then SIGKILL after 10 s; resolves when the process has exited. */
export async function stopContainerd(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  proc.kill('SIGTERM');
  await new Promise<void>((resolve) => {
    const t = setTimeout(() => {
      proc.kill('SIGKILL');
      resolve();
    }, 10_000);
    proc.once('exit', () => {
      clearTimeout(t);
      resolve();
    });
  });
}

export class PrivateContainerd {
  private constructor(
    readonly dir: string,
    readonly socket: string,
    readonly logFile: string,
    private readonly proc: ChildProcess,
    private readonly env: NodeJS.ProcessEnv,
  ) {}

  /** Starts `containerd` with a config under `dir`; `shimDir` holds containerd-shim-ccgpu-v2. */
  static async start(dir: string, shimDir: string, env: NodeJS.ProcessEnv = {}): Promise<PrivateContainerd> {
    const c = await launchContainerd(dir, shimDir, { env });
    return new PrivateContainerd(dir, c.socket, c.logFile, c.proc, c.env);
  }

  ctr(args: string[], o: { input?: string; timeoutMs?: number } = {}): Promise<CommandResult> {
    return runCollecting('ctr', ['--address', this.socket, '-n', 'ccgpu-demo', ...args], { ...o, env: this.env });
  }

  stop(): Promise<void> {
    return stopContainerd(this.proc);
  }
}
