/**
 * Hybrid vsock (Firecracker, Cloud Hypervisor, vhost-user-vsock backends): connect to the backend's unix socket,
 * write `CONNECT <port>\n`, and accept the connection when the reply line contains `OK` (conventionally
 * `OK <host port>\n`). Each handshake is bounded (10 s by default) and failed attempts are retried until the dial
 * timeout. Bytes that arrive after the reply line are put back so ttrpc sees them.
 */
import net from 'node:net';
import type { Logger } from 'pino';
import { Code, errorMessage } from '../errors/index.js';
import { silentLogger } from '../log/index.js';
import { TtrpcError } from './errors.js';

export interface HybridVsockOptions {
  /** Bound on one connect + CONNECT/OK exchange. Default 10 s (kata). */
  handshakeTimeoutMs?: number;
  /** Keep retrying until this much time has passed. Default 30 s. */
  dialTimeoutMs?: number;
  /** Pause between attempts. Default 100 ms. */
  retryDelayMs?: number;
  logger?: Logger;
  signal?: AbortSignal;
}

const MAX_REPLY_LINE = 1024;

/** One connect + handshake attempt. */
export function hybridVsockHandshake(udsPath: string, port: number, handshakeTimeoutMs = 10_000): Promise<net.Socket> {
  return new Promise<net.Socket>((resolve, reject) => {
    const sock = net.createConnection(udsPath);
    let buf = Buffer.alloc(0);
    let done = false;
    const finish = (err?: Error): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.off('data', onData);
      if (err) {
        sock.destroy();
        reject(err);
      } else {
        sock.pause();
        resolve(sock);
      }
    };
    const timer = setTimeout(
      () =>
        finish(
          new TtrpcError(
            Code.DeadlineExceeded,
            `hybrid vsock handshake with ${udsPath} port ${port} timed out after ${handshakeTimeoutMs}ms`,
          ),
        ),
      handshakeTimeoutMs,
    );
    const onData = (chunk: Buffer): void => {
      buf = Buffer.concat([buf, chunk]);
      const nl = buf.indexOf(0x0a);
      if (nl < 0) {
        if (buf.length > MAX_REPLY_LINE) {
          finish(
            new TtrpcError(Code.Unavailable, `hybrid vsock ${udsPath}: reply line longer than ${MAX_REPLY_LINE} bytes`),
          );
        }
        return;
      }
      const line = buf.subarray(0, nl).toString('utf8').trim();
      const rest = buf.subarray(nl + 1);
      if (!line.includes('OK') || line.startsWith('NOK')) {
        finish(
          new TtrpcError(Code.Unavailable, `hybrid vsock ${udsPath} refused CONNECT ${port}: ${JSON.stringify(line)}`),
        );
        return;
      }
      if (rest.length > 0) sock.unshift(rest);
      finish();
    };
    sock.on('data', onData);
    sock.once('connect', () => sock.write(`CONNECT ${port}\n`));
    sock.once('error', (e) =>
      finish(new TtrpcError(Code.Unavailable, `hybrid vsock ${udsPath}: ${errorMessage(e)}`, e)),
    );
    sock.once('close', () =>
      finish(new TtrpcError(Code.Unavailable, `hybrid vsock ${udsPath} closed during handshake`)),
    );
  });
}

/** Dial `port` through the hybrid vsock unix socket at `udsPath`, retrying until the dial timeout. */
export async function dialHybridVsock(
  udsPath: string,
  port: number,
  opts: HybridVsockOptions = {},
): Promise<net.Socket> {
  if (!Number.isInteger(port) || port < 0 || port > 0xffffffff) {
    throw new TypeError(`hybrid vsock port must be a uint32, got ${port}`);
  }
  const log = opts.logger ?? silentLogger;
  const handshakeTimeoutMs = opts.handshakeTimeoutMs ?? 10_000;
  const dialTimeoutMs = opts.dialTimeoutMs ?? 30_000;
  const retryDelayMs = opts.retryDelayMs ?? 100;
  const deadline = Date.now() + dialTimeoutMs;
  let attempts = 0;
  for (;;) {
    if (opts.signal?.aborted) throw new TtrpcError(Code.Canceled, `hybrid vsock dial ${udsPath}:${port} canceled`);
    attempts++;
    const left = deadline - Date.now();
    try {
      return await hybridVsockHandshake(udsPath, port, Math.max(1, Math.min(handshakeTimeoutMs, left)));
    } catch (e) {
      log.debug({ udsPath, port, attempt: attempts, err: errorMessage(e) }, 'hybrid vsock attempt failed');
      if (Date.now() + retryDelayMs >= deadline) {
        throw new TtrpcError(
          Code.DeadlineExceeded,
          `dialing hybrid vsock ${udsPath} port ${port} failed after ${attempts} attempt(s) in ${dialTimeoutMs}ms: ${errorMessage(e)}`,
          e,
        );
      }
      await new Promise((r) => setTimeout(r, retryDelayMs));
    }
  }
}
