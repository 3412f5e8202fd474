/**
 * Host side of the Kata agent API: dial the guest agent over the configured transport (a virtio-serial port exposed
 * by QEMU as a unix socket in tests, AF_VSOCK in production), wait until `grpc.Health/Check` answers SERVING, and hand
 * out a typed `AgentClient`.
 */
import net from 'node:net';
import type { Logger } from 'pino';
import { AgentClient } from '../protocols/index.js';
import { TtrpcClient } from '../ttrpc/index.js';
import { CcgpuError, Code, TimeoutError, errorMessage } from '../errors/index.js';

export const AGENT_VSOCK_PORT = 1024;

export type AgentEndpoint =
  { transport: 'virtio-serial'; socketPath: string } | { transport: 'vsock'; cid: number; port?: number };

export interface ConnectedAgent {
  client: AgentClient;
  ttrpc: TtrpcClient;
  close(): void;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function connectUnix(path: string): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.createConnection(path);
    s.once('connect', () => {
      s.off('error', reject);
      resolve(s);
    });
    s.once('error', reject);
  });
}

async function connectVsock(cid: number, port: number): Promise<net.Socket> {
  const native = (await import('../../native/index.js')) as unknown as {
    connectVsock?: (cid: number, port: number) => Promise<net.Socket>;
  };
  if (typeof native.connectVsock !== 'function')
    throw new CcgpuError('the native addon has no vsock support; build it with npm ci', { code: Code.Unavailable });
  return native.connectVsock(cid, port);
}

/**
 * Dials the agent and waits for it to report SERVING, retrying until `timeoutMs` (the config's `dial_timeout`).
 * `aborted` lets the caller give up early (e.g. QEMU exited).
 */
export async function connectAgent(
  endpoint: AgentEndpoint,
  opts: { timeoutMs: number; logger: Logger; aborted?: () => string | undefined },
): Promise<ConnectedAgent> {
  const deadline = Date.now() + opts.timeoutMs;
  let lastError = 'no attempt';
  let attempt = 0;
  while (Date.now() < deadline) {
    const why = opts.aborted?.();
    if (why) throw new CcgpuError(`agent not reachable: ${why}`, { code: Code.Unavailable });
    attempt++;
    let sock: net.Socket | undefined;
    try {
      sock =
        endpoint.transport === 'virtio-serial'
          ? await connectUnix(endpoint.socketPath)
          : await connectVsock(endpoint.cid, endpoint.port ?? AGENT_VSOCK_PORT);
      const ttrpc = new TtrpcClient(sock);
      const client = new AgentClient(ttrpc);
      // a virtio-serial port buffers until the guest opens it, so keep asking on the same connection
      while (Date.now() < deadline && !ttrpc.closed) {
        const why2 = opts.aborted?.();
        if (why2) {
          ttrpc.close();
          throw new CcgpuError(`agent not reachable: ${why2}`, { code: Code.Unavailable });
        }
        try {
          const status = await client.check({ timeoutMs: 2_000 });
          if (status === 1) {
            opts.logger.info({ attempt }, 'agent is serving');
            return { client, ttrpc, close: () => ttrpc.close() };
          }
          lastError = `health status ${status}`;
        } catch (e) {
          lastError = errorMessage(e);
        }
        await sleep(200);
      }
      ttrpc.close();
    } catch (e) {
      if (e instanceof CcgpuError && e.code === Code.Unavailable && /agent not reachable/.test(e.message)) throw e;
      lastError = errorMessage(e);
      sock?.destroy();
    }
    await sleep(250);
  }
  throw new TimeoutError(
    `connecting to the guest agent (${endpoint.transport}; last error: ${lastError})`,
    opts.timeoutMs,
  );
}
