/**
 * The ccgpu guest agent's entry point (PID 1 in the guest, started by the initramfs's /init): read the kernel
 * command line, load the policy, serve the Kata agent API over ttrpc on vsock or virtio-serial, never exit.
 */
import { readFileSync } from 'node:fs';
import pino from 'pino';
import { TtrpcServer } from '../ttrpc/index.js';
import { registerAgentService, registerHealthService } from '../protocols/index.js';
import { parseAgentCmdline, type AgentCmdline } from './kernel-cmdline.js';
import { AgentService, AGENT_VERSION } from './agent-service.js';
import { detectCgroupDriver } from './cgroup-path.js';
import { findRunc, rootIsInitramfs, Runc } from './runc.js';
import { installCrashGuards, OrphanReaper, powerOff } from './pid1.js';
import { serveAgentTransport } from './transport.js';
import { loadAgentPolicy } from './policy-gate.js';
import { CONTAINER_STATE_DIR, DEFAULT_NATIVE_ADDON, GUEST_PROTO_DIR } from './main-constants.js';

async function main(): Promise<void> {
  process.env.CCGPU_NATIVE_ADDON ??= process.env.CCGPU_AGENT_NATIVE ?? DEFAULT_NATIVE_ADDON;
  process.env.PATH ??= '/usr/sbin:/usr/bin:/sbin:/bin';
  process.env.CCGPU_PROTO_DIR ??= GUEST_PROTO_DIR;
  let cmdline: AgentCmdline;
  let cmdlineError: string | undefined;
  try {
    cmdline = parseAgentCmdline(readFileSync('/proc/cmdline', 'utf8'));
  } catch (e) {
    cmdlineError = (e as Error).message;
    cmdline = parseAgentCmdline('');
  }
  // JSON lines on the console (the host follows the console into its log)
  const log = pino(
    {
      level: cmdline.logLevel,
      base: { src: 'agent' },
      redact: { paths: ['*.data', 'policy', '*.policy'], censor: '[redacted]' },
    },
    pino.destination(2),
  );
  installCrashGuards(log);
  if (cmdlineError) log.error({ err: cmdlineError }, 'bad agent parameter on the kernel command line; using defaults');
  log.info(
    { version: AGENT_VERSION, pid: process.pid, node: process.version, transport: cmdline.transport },
    'ccgpu agent starting',
  );

  if (process.pid === 1) new OrphanReaper(log).start();

  const policy = await loadAgentPolicy(log);
  const runc = new Runc({ binary: findRunc(), cgroupDriver: detectCgroupDriver() });
  let noPivot = false;
  try {
    noPivot = rootIsInitramfs(readFileSync('/proc/mounts', 'utf8'));
  } catch {
    /* no /proc/mounts: keep pivot_root */
  }
  const service = new AgentService({
    log,
    policy,
    runc,
    stateDir: CONTAINER_STATE_DIR,
    launchTimeoutMs: Math.max(cmdline.launchProcessTimeoutMs, 30_000),
    noPivot,
    powerOff: () => powerOff(log),
  });
  const server = new TtrpcServer({ logger: log });
  registerAgentService(server, service.handlers());
  registerHealthService(server, {
    Check: () => ({ status: 1 }),
    Version: () => ({ grpcVersion: '0.0.1', agentVersion: AGENT_VERSION }),
  });
  const t = await serveAgentTransport(server, cmdline, log);
  log.info({ transport: t.describe, cgroupDriver: runc.o.cgroupDriver, noPivot }, 'ccgpu agent ready');
}

main().catch((e: unknown) => {
  // PID 1 must not exit (kernel panic): report, then power the VM off so the host sees the failure at once
  process.stderr.write(`ccgpu agent: fatal: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  if (process.pid === 1) {
    setInterval(() => undefined, 1 << 30);
    void powerOff(pino({ base: { src: 'agent' } }, pino.destination(2)));
  } else process.exit(1);
});
