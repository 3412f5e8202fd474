/**
 * `containerd-shim-ccgpu-v2 ... start`: prints the address of the sandbox's shim, starting the shim daemon for a new
 * sandbox. Nothing is written to stderr (containerd mixes it into the address).
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { createInheritableUnixListener } from '../subprocess/unix-listener.js';
import { daemonArgs, type ShimFlags } from './flags.js';
import { groupOf, socketAddress, socketPath, SOCKET_DIR } from './address.js';

function isLive(sock: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createConnection(sock);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/**
 * containerd 2.x (it sets GRPC_ADDRESS for shims) can take a gRPC Task service through the bootstrap JSON, version 3
 * only. ccgpu uses it when CCGPU_SHIM_PROTOCOL=grpc; otherwise it prints the plain ttrpc address both 1.6 and 2.x
 * accept.
 */
export function wantsGrpc(env: NodeJS.ProcessEnv = process.env): boolean {
  return env.CCGPU_SHIM_PROTOCOL === 'grpc' && Boolean(env.GRPC_ADDRESS);
}

export function bootstrapJson(sock: string): string {
  // gRPC needs a bare path: containerd pre-dials it with net.Dial("unix", address)
  return JSON.stringify({ version: 3, address: sock, protocol: 'grpc' });
}

/** The serving daemon's stderr: CCGPU_SHIM_STDERR (appended to) catches crashes before the log pipe is open. */
function daemonStderr(): 'ignore' | number {
  const file = process.env.CCGPU_SHIM_STDERR;
  return file ? fs.openSync(file, 'a', 0o600) : 'ignore';
}

async function startGrpcDaemon(flags: ShimFlags, bundle: string, sock: string, script: string): Promise<string> {
  fs.rmSync(sock, { force: true });
  const child = spawn(
    process.execPath,
    [...process.execArgv, script, ...daemonArgs({ ...flags, bundle }), '-socket', sock],
    {
      cwd: bundle,
      detached: true,
      stdio: ['ignore', 'ignore', daemonStderr()],
      env: process.env,
    },
  );
  child.unref();
  const deadline = Date.now() + 15_000;
  while (!(await isLive(sock))) {
    if (Date.now() > deadline) throw new Error(`the shim daemon did not start serving gRPC on ${sock}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  fs.writeFileSync(path.join(bundle, 'shim.pid'), String(child.pid ?? ''));
  return bootstrapJson(sock);
}

export async function shimStart(flags: ShimFlags, opts: { socketDir?: string; script?: string } = {}): Promise<string> {
  const bundle = flags.bundle || process.cwd();
  const spec = JSON.parse(fs.readFileSync(path.join(bundle, 'config.json'), 'utf8')) as {
    annotations?: Record<string, string>;
  };
  const { group, isSandbox } = groupOf(flags.id, spec.annotations ?? {});
  const dir = opts.socketDir ?? SOCKET_DIR;
  const sock = socketPath(flags.address, flags.namespace, group, dir);
  const address = socketAddress(sock);
  if (!isSandbox || (await isLive(sock))) {
    fs.writeFileSync(path.join(bundle, 'address'), address);
    return address;
  }
  fs.mkdirSync(dir, { recursive: true, mode: 0o711 });
  if (wantsGrpc()) return startGrpcDaemon(flags, bundle, sock, opts.script ?? process.argv[1]!);
  const listener = await createInheritableUnixListener(sock, 0o600);
  const script = opts.script ?? process.argv[1]!;
  const child = spawn(process.execPath, [...process.execArgv, script, ...daemonArgs({ ...flags, bundle })], {
    cwd: bundle,
    detached: true,
    stdio: ['ignore', 'ignore', daemonStderr(), listener.fd],
    env: process.env,
  });
  child.unref();
  await listener.release();
  fs.writeFileSync(path.join(bundle, 'address'), address);
  fs.writeFileSync(path.join(bundle, 'shim.pid'), String(child.pid ?? ''));
  return address;
}
