/**
 * ttrpc client over any Duplex: odd, increasing stream ids; concurrent calls matched by stream id; per-call
 * timeouts sent as `timeout_nano` and enforced locally; typed TtrpcError{code, message} failures; losing the
 * connection fails every pending call with Unavailable.
 */
import net from 'node:net';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { Code, errorMessage } from '../errors/index.js';
import { silentLogger } from '../log/index.js';
import { FrameParser, MessageType, encodeFrame, oversizeMessage, MAX_MESSAGE_LENGTH, type Frame } from './frame.js';
import { decodeResponse, encodeRequest } from './wire.js';
import { Metadata, type MetadataInit } from './metadata.js';
import { TtrpcError } from './errors.js';

export interface CallOptions {
  /** Deadline for the call; sent as timeout_nano and enforced locally. */
  timeoutMs?: number;
  metadata?: Metadata | MetadataInit;
  signal?: AbortSignal;
}

export interface ClientOptions {
  logger?: Logger;
  /** Metadata added to every call (e.g. the containerd namespace). */
  metadata?: Metadata | MetadataInit;
}

interface Pending {
  resolve(payload: Uint8Array): void;
  reject(e: Error): void;
  cleanup(): void;
}

/** Largest stream id before the id space is exhausted (uint32, odd). */
const MAX_STREAM_ID = 0xffffffff;

export class TtrpcClient {
  private nextStreamId = 1;
  private readonly pending = new Map<number, Pending>();
  private closedError: TtrpcError | undefined;
  private readonly log: Logger;
  private readonly defaults: Metadata;
  private readonly closeWaiters: Array<() => void> = [];

  constructor(
    private readonly stream: Duplex,
    opts: ClientOptions = {},
  ) {
    this.log = opts.logger ?? silentLogger;
    this.defaults = opts.metadata instanceof Metadata ? opts.metadata : new Metadata(opts.metadata);
    const parser = new FrameParser({
      frame: (f) => this.onFrame(f),
      oversized: (o) => this.fail(o.streamId, new TtrpcError(Code.ResourceExhausted, oversizeMessage(o.length))),
    });
    stream.on('data', (chunk: Buffer) => parser.push(chunk));
    stream.on('error', (e) =>
      this.shutdown(new TtrpcError(Code.Unavailable, `ttrpc: connection error: ${errorMessage(e)}`, e)),
    );
    stream.on('end', () => this.shutdown(new TtrpcError(Code.Unavailable, 'ttrpc: connection closed by peer')));
    stream.on('close', () => this.shutdown(new TtrpcError(Code.Unavailable, 'ttrpc: connection closed')));
    stream.resume(); // streams handed over paused (e.g. after a hybrid vsock handshake) start flowing now
  }

  /** Connect to a unix socket path (with or without a `unix://` prefix). */
  static async connect(
    socketPath: string,
    opts: ClientOptions & { connectTimeoutMs?: number } = {},
  ): Promise<TtrpcClient> {
    const p = socketPath.startsWith('unix://') ? socketPath.slice('unix://'.length) : socketPath;
    const sock = await new Promise<net.Socket>((resolve, reject) => {
      const s = net.createConnection(p);
      const t = setTimeout(() => {
        s.destroy();
        reject(
          new TtrpcError(Code.DeadlineExceeded, `ttrpc: connecting to ${p} timed out after ${opts.connectTimeoutMs}ms`),
        );
      }, opts.connectTimeoutMs ?? 10_000);
      s.once('connect', () => {
        clearTimeout(t);
        resolve(s);
      });
      s.once('error', (e) => {
        clearTimeout(t);
        reject(new TtrpcError(Code.Unavailable, `ttrpc: cannot connect to ${p}: ${errorMessage(e)}`, e));
      });
    });
    return new TtrpcClient(sock, opts);
  }

  get closed(): boolean {
    return this.closedError !== undefined;
  }

  /** Number of calls waiting for a response. */
  get inFlight(): number {
    return this.pending.size;
  }

  /** Resolves when the connection is gone. */
  waitClosed(): Promise<void> {
    if (this.closed) return Promise.resolve();
    return new Promise((r) => this.closeWaiters.push(r));
  }

  /** Unary call: returns the response payload bytes or rejects with TtrpcError. */
  call(service: string, method: string, request: Uint8Array, opts: CallOptions = {}): Promise<Uint8Array> {
    if (this.closedError) return Promise.reject(this.closedError);
    if (this.nextStreamId > MAX_STREAM_ID) {
      return Promise.reject(new TtrpcError(Code.ResourceExhausted, 'ttrpc: stream ids exhausted on this connection'));
    }
    const md = new Metadata(this.defaults.toKeyValues().map((kv) => [kv.key, kv.value] as const));
    const extra = opts.metadata instanceof Metadata ? opts.metadata : new Metadata(opts.metadata);
    for (const kv of extra.toKeyValues()) md.append(kv.key, kv.value);
    const timeoutMs = opts.timeoutMs;
    if (timeoutMs !== undefined && !(Number.isFinite(timeoutMs) && timeoutMs > 0)) {
      return Promise.reject(
        new TypeError(`ttrpc call ${service}/${method}: timeoutMs must be a positive number, got ${timeoutMs}`),
      );
    }
    const body = encodeRequest({
      service,
      method,
      payload: request,
      timeoutNano: timeoutMs !== undefined ? Math.round(timeoutMs * 1e6) : 0,
      metadata: md.toKeyValues(),
    });
    if (body.length > MAX_MESSAGE_LENGTH) {
      return Promise.reject(new TtrpcError(Code.ResourceExhausted, oversizeMessage(body.length)));
    }
    if (opts.signal?.aborted)
      return Promise.reject(new TtrpcError(Code.Canceled, `ttrpc call ${service}/${method} canceled`));
    const streamId = this.nextStreamId;
    this.nextStreamId += 2;
    return new Promise<Uint8Array>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const onAbort = (): void =>
        this.fail(streamId, new TtrpcError(Code.Canceled, `ttrpc call ${service}/${method} canceled`));
      const cleanup = (): void => {
        if (timer) clearTimeout(timer);
        opts.signal?.removeEventListener('abort', onAbort);
      };
      this.pending.set(streamId, { resolve, reject, cleanup });
      if (timeoutMs !== undefined) {
        timer = setTimeout(
          () =>
            this.fail(
              streamId,
              new TtrpcError(Code.DeadlineExceeded, `ttrpc call ${service}/${method} timed out after ${timeoutMs}ms`),
            ),
          timeoutMs,
        );
      }
      opts.signal?.addEventListener('abort', onAbort, { once: true });
      this.stream.write(encodeFrame(streamId, MessageType.Request, 0, body));
    });
  }

  private fail(streamId: number, e: Error): void {
    const p = this.pending.get(streamId);
    if (!p) return;
    this.pending.delete(streamId);
    p.cleanup();
    p.reject(e);
  }

  private onFrame(f: Frame): void {
    if (f.type !== MessageType.Response) {
      this.log.debug({ streamId: f.streamId, type: f.type }, 'ttrpc client: ignoring non-response frame');
      return;
    }
    const p = this.pending.get(f.streamId);
    if (!p) {
      this.log.debug({ streamId: f.streamId }, 'ttrpc client: response for unknown stream');
      return;
    }
    this.pending.delete(f.streamId);
    p.cleanup();
    let res;
    try {
      res = decodeResponse(f.payload);
    } catch (e) {
      p.reject(new TtrpcError(Code.Internal, `ttrpc: cannot decode response: ${errorMessage(e)}`, e));
      return;
    }
    if (res.status.code !== Code.OK) p.reject(new TtrpcError(res.status.code, res.status.message));
    else p.resolve(res.payload);
  }

  private shutdown(e: TtrpcError): void {
    if (!this.closedError) this.closedError = e;
    for (const [id, p] of this.pending) {
      this.pending.delete(id);
      p.cleanup();
      p.reject(this.closedError);
    }
    if (!this.stream.destroyed) this.stream.destroy();
    const w = this.closeWaiters.splice(0);
    for (const f of w) f();
  }

  /** Close the connection; pending calls fail with Unavailable. */
  close(): void {
    this.shutdown(new TtrpcError(Code.Unavailable, 'ttrpc: client closed'));
  }
}
