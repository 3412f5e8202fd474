/**
 * The shim daemon: serves the Task API over ttrpc on the listener containerd's `start` passed as fd 3, logs to the
 * bundle's `log` FIFO, publishes events to `$TTRPC_ADDRESS`, and exits on Shutdown.
 */
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { createLogger, type Logger } from '../log/index.js';
import { TtrpcServer } from '../ttrpc/index.js';
import { EventsClient, registerTaskService } from '../protocols/index.js';
import { errorMessage } from '../errors/index.js';
import { ShimTaskService } from './task-service.js';
import { serveTaskOverGrpc } from './grpc-task-server.js';
import type { ShimFlags } from './flags.js';

function openLog(bundle: string): NodeJS.WritableStream | undefined {
  const file = path.join(bundle, 'log');
  try {
    const fd = fs.openSync(file, fs.constants.O_WRONLY | fs.constants.O_NONBLOCK);
    const s = fs.createWriteStream('', { fd });
    // containerd closes its end of the log FIFO when it cleans up or restarts: logging stops, the shim keeps serving
    s.on('error', () => undefined);
    return s;
  } catch {
    return undefined;
  }
}

export async function shimServe(flags: ShimFlags): Promise<void> {
  const bundle = flags.bundle || process.cwd();
  const log: Logger = createLogger({
    name: 'containerd-shim-ccgpu-v2',
    level: flags.debug ? 'debug' : undefined,
    destination: openLog(bundle),
    bindings: { sandbox: flags.id, namespace: flags.namespace },
  });
  const ttrpcAddress = process.env.TTRPC_ADDRESS ?? (flags.address ? `${flags.address}.ttrpc` : '');
  const events = ttrpcAddress ? new EventsClient(ttrpcAddress, { logger: log }) : undefined;
  const server = new TtrpcServer({ logger: log });
  let exiting = false;
  const exit = async (code: number): Promise<void> => {
    if (exiting) return;
    exiting = true;
    await service.destroy().catch((e) => log.error({ err: errorMessage(e) }, 'sandbox teardown failed'));
    await server.close({ timeoutMs: 2_000 }).catch(() => undefined);
    events?.close();
    log.info('shim exiting');
    setTimeout(() => process.exit(code), 50);
  };
  const service = new ShimTaskService({
    namespace: flags.namespace,
    logger: log,
    events,
    onShutdown: () => void exit(0),
  });
  const handlers = service.handlers();
  registerTaskService(server, handlers);
  const listener = net.createServer();
  if (flags.socket && process.env.CCGPU_SHIM_PROTOCOL === 'grpc') {
    const grpcServer = await serveTaskOverGrpc(flags.socket, handlers);
    process.once('exit', () => grpcServer.forceShutdown());
    log.info({ socket: flags.socket }, 'serving the Task API over gRPC (containerd.task.v3.Task)');
  } else if (flags.socket) await server.listen(flags.socket);
  else {
    await new Promise<void>((resolve, reject) => {
      listener.once('error', reject);
      listener.listen({ fd: 3 }, () => resolve());
    });
    server.serveListener(listener);
  }
  process.on('SIGTERM', () => void exit(0));
  process.on('SIGINT', () => void exit(0));
  process.on('SIGPIPE', () => undefined);
  log.info({ pid: process.pid }, 'shim serving');
}
