/**
 * Where the agent's ttrpc server listens: AF_VSOCK port 1024 (production; `native/` addon) or a virtio-serial port
 * (`agent.channel.0`; test setups without vhost-vsock). A virtio-serial port is one duplex byte stream: when the
 * host side disconnects the guest sees EOF/HUP, so the port is reopened and served again, for as long as the agent
 * runs.
 */
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';
import { listenVsock, openStreamDevice, type VsockServer } from '../../native/index.js';
import type { TtrpcServer } from '../ttrpc/index.js';
import { runCommand } from '../subprocess/index.js';
import { waitForVirtioPort, type VirtioPort } from './virtio-port.js';
import type { AgentCmdline } from './kernel-cmdline.js';

/** A device node for the port: /dev/<vportNpM> if devtmpfs has it, else one made with mknod. */
export async function portDeviceNode(port: VirtioPort, devRoot = '/dev'): Promise<string> {
  const node = path.join(devRoot, port.device);
  if (!existsSync(node)) {
    mkdirSync(devRoot, { recursive: true });
    await runCommand('mknod', [node, 'c', String(port.major), String(port.minor)], { timeoutMs: 5_000 });
  }
  return node;
}

export interface ServingTransport {
  describe: string;
  close(): Promise<void>;
}

/** Serve `server` over a virtio-serial port, reopening it after every disconnect. */
export async function serveVirtioSerial(
  server: TtrpcServer,
  name: string,
  log: Logger,
  sysRoot = '/sys',
): Promise<ServingTransport> {
  const port = await waitForVirtioPort(name, 30_000, sysRoot);
  const node = await portDeviceNode(port);
  let closed = false;
  let current: import('node:net').Socket | undefined;
  const open = (): void => {
    if (closed) return;
    let sock;
    try {
      sock = openStreamDevice(node);
    } catch (e) {
      log.error({ err: (e as Error).message, node }, 'cannot open the agent port; retrying');
      setTimeout(open, 500);
      return;
    }
    current = sock;
    let reopened = false;
    const again = (why: string): void => {
      if (reopened) return;
      reopened = true;
      log.info({ node, why }, 'agent port closed; reopening');
      sock.destroy();
      setTimeout(open, 100);
    };
    sock.on('error', (e) => again(`error: ${e.message}`));
    sock.on('end', () => again('end of stream'));
    sock.on('close', () => again('closed'));
    server.serve(sock);
  };
  open();
  log.info({ port: port.name, node }, 'agent serving ttrpc on virtio-serial');
  return {
    describe: `virtio-serial ${port.name} (${node})`,
    close: async () => {
      closed = true;
      current?.destroy();
    },
  };
}

export function serveVsock(server: TtrpcServer, vsockPort: number, log: Logger): ServingTransport {
  const l: VsockServer = listenVsock(vsockPort, (sock, peer) => {
    log.debug({ peer }, 'vsock connection');
    sock.on('error', (e) => log.debug({ err: e.message }, 'vsock connection error'));
    server.serve(sock);
  });
  log.info({ port: vsockPort }, 'agent serving ttrpc on vsock');
  return { describe: `vsock port ${vsockPort}`, close: () => l.close() };
}

export async function serveAgentTransport(
  server: TtrpcServer,
  cmdline: AgentCmdline,
  log: Logger,
): Promise<ServingTransport> {
  return cmdline.transport === 'virtio-serial'
    ? serveVirtioSerial(server, cmdline.channelName, log)
    : serveVsock(server, cmdline.vsockPort, log);
}
