/**
 * ttrpc server over any Duplex (unix sockets, vsock sockets, virtio-serial char devices).
 *
 * Behaviour follows containerd/ttrpc: client streams must be odd and increasing, unknown service/method answer
 * Unimplemented (`service <name>` / `method <name>`), an undecodable Request answers InvalidArgument
 * (`unmarshal request error: ...`), frames over 4 MiB answer ResourceExhausted and the connection stays open,
 * requests run concurrently and responses go out in completion order. A non-zero `timeout_nano` becomes the
 * handler's deadline: its AbortSignal fires and the caller gets DeadlineExceeded.
 */
import net from 'node:net';
import { chmod, rm } from 'node:fs/promises';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { silentLogger } from '../log/index.js';
import { Code, errorCode, errorMessage } from '../errors/index.js';
import {
  FrameParser,
  MessageType,
  Flags,
  encodeFrame,
  oversizeMessage,
  MAX_MESSAGE_LENGTH,
  type Frame,
} from './frame.js';
import { decodeRequest, encodeResponse, type StatusMessage } from './wire.js';
import { Metadata, NAMESPACE_METADATA_KEY } from './metadata.js';
import { TtrpcError } from './errors.js';

export interface CallContext {
  service: string;
  method: string;
  streamId: number;
  metadata: Metadata;
  /** containerd namespace from `containerd-namespace-ttrpc` metadata, if sent. */
  namespace: string | undefined;
  /** Absolute deadline in ms since the epoch, when the caller set `timeout_nano`. */
  deadline: number | undefined;
  /** Aborted when the deadline passes, the connection closes or the server is closed. */
  signal: AbortSignal;
}

/** A unary method: request payload bytes in, response payload bytes out. */
export type RawMethod = (request: Uint8Array, ctx: CallContext) => Promise<Uint8Array> | Uint8Array;

export interface ServerOptions {
  logger?: Logger;
}

export const StreamMessages = {
  even: 'StreamID must be odd for client initiated streams',
  reused: 'StreamID cannot be re-used and must increment',
  inactive: 'StreamID is no longer active',
  closeWithData: 'data close message cannot include data',
} as const;

class Connection {
  private lastStreamId = 0;
  private readonly active = new Map<number, AbortController>();
  private closed = false;
  private readonly parser: FrameParser;

  constructor(
    private readonly server: TtrpcServer,
    private readonly stream: Duplex,
    private readonly log: Logger,
  ) {
    this.parser = new FrameParser({
      frame: (f) => this.onFrame(f),
      oversized: (o) => {
        this.log.warn({ streamId: o.streamId, length: o.length }, 'ttrpc: oversized frame discarded');
        this.sendStatus(o.streamId, { code: Code.ResourceExhausted, message: oversizeMessage(o.length) });
      },
    });
    stream.on('data', (chunk: Buffer) => {
      try {
        this.parser.push(chunk);
      } catch (e) {
        this.log.error({ err: errorMessage(e) }, 'ttrpc: connection error');
        stream.destroy();
      }
    });
    stream.on('error', (e) => this.log.debug({ err: errorMessage(e) }, 'ttrpc: connection error'));
    stream.on('close', () => this.onClose());
    stream.resume();
  }

  get idle(): boolean {
    return this.active.size === 0;
  }

  private onClose(): void {
    this.closed = true;
    for (const ac of this.active.values()) ac.abort(new TtrpcError(Code.Canceled, 'ttrpc: connection closed'));
    this.active.clear();
    this.server.connectionClosed(this);
  }

  destroy(): void {
    this.stream.destroy();
  }

  /** Half-close and wait (bounded) for the peer to finish reading, then destroy. */
  async endAndWait(ms: number): Promise<void> {
    if (this.stream.destroyed) return;
    await new Promise<void>((resolve) => {
      const t = setTimeout(() => {
        this.stream.destroy();
        resolve();
      }, ms);
      this.stream.once('close', () => {
        clearTimeout(t);
        resolve();
      });
      this.stream.end();
    });
  }

  private send(streamId: number, payload: Uint8Array): void {
    if (this.closed || this.stream.destroyed) return;
    this.stream.write(encodeFrame(streamId, MessageType.Response, 0, payload));
  }

  private sendStatus(streamId: number, status: Partial<StatusMessage>): void {
    this.send(streamId, encodeResponse({ status }));
  }

  private onFrame(f: Frame): void {
    if (f.streamId % 2 !== 1) {
      this.sendStatus(f.streamId, { code: Code.InvalidArgument, message: StreamMessages.even });
      return;
    }
    if (f.type === MessageType.Data) {
      if (!this.active.has(f.streamId)) {
        this.sendStatus(f.streamId, { code: Code.InvalidArgument, message: StreamMessages.inactive });
      } else if (f.flags & Flags.RemoteClosed && f.payload.length > 0 && !(f.flags & Flags.NoData)) {
        this.sendStatus(f.streamId, { code: Code.InvalidArgument, message: StreamMessages.closeWithData });
      }
      // unary methods only: other data frames on a live stream are ignored
      return;
    }
    if (f.type !== MessageType.Request) {
      this.log.warn({ streamId: f.streamId, type: f.type }, 'ttrpc: ignoring frame of unexpected type');
      return;
    }
    if (f.streamId <= this.lastStreamId) {
      this.sendStatus(f.streamId, { code: Code.InvalidArgument, message: StreamMessages.reused });
      return;
    }
    this.lastStreamId = f.streamId;
    if (this.server.closing) {
      this.sendStatus(f.streamId, { code: Code.Unavailable, message: 'ttrpc: server closed' });
      return;
    }
    void this.handle(f);
  }

  private async handle(f: Frame): Promise<void> {
    const streamId = f.streamId;
    let req;
    try {
      req = decodeRequest(f.payload);
    } catch (e) {
      this.sendStatus(streamId, { code: Code.InvalidArgument, message: `unmarshal request error: ${errorMessage(e)}` });
      return;
    }
    const service = this.server.service(req.service);
    if (!service) {
      this.sendStatus(streamId, { code: Code.Unimplemented, message: `service ${req.service}` });
      return;
    }
    const method = service.get(req.method);
    if (!method) {
      this.sendStatus(streamId, { code: Code.Unimplemented, message: `method ${req.method}` });
      return;
    }
    const ac = new AbortController();
    this.active.set(streamId, ac);
    const metadata = Metadata.fromKeyValues(req.metadata);
    let timer: NodeJS.Timeout | undefined;
    const deadline = req.timeoutNano > 0 ? Date.now() + req.timeoutNano / 1e6 : undefined;
    const ctx: CallContext = {
      service: req.service,
      method: req.method,
      streamId,
      metadata,
      namespace: metadata.get(NAMESPACE_METADATA_KEY),
      deadline,
      signal: ac.signal,
    };
    const done = new Promise<{ payload?: Uint8Array; status?: Partial<StatusMessage> }>((resolve) => {
      if (deadline !== undefined) {
        timer = setTimeout(
          () => {
            const err = new TtrpcError(Code.DeadlineExceeded, 'context deadline exceeded');
            ac.abort(err);
            resolve({ status: { code: Code.DeadlineExceeded, message: err.message } });
          },
          Math.max(0, deadline - Date.now()),
        );
      }
      Promise.resolve()
        .then(() => method(req.payload, ctx))
        .then(
          (payload) => resolve({ payload }),
          (e: unknown) => {
            const code = errorCode(e);
            resolve({ status: { code: code === Code.OK ? Code.Unknown : code, message: errorMessage(e) } });
          },
        );
    });
    const result = await done;
    if (timer) clearTimeout(timer);
    if (!this.active.has(streamId)) return; // connection went away
    this.active.delete(streamId);
    if (result.status) {
      this.log.debug({ service: req.service, method: req.method, code: result.status.code }, 'ttrpc: call failed');
      this.sendStatus(streamId, result.status);
    } else {
      let body = encodeResponse({ payload: result.payload ?? new Uint8Array(0) });
      if (body.length > MAX_MESSAGE_LENGTH) {
        body = encodeResponse({ status: { code: Code.ResourceExhausted, message: oversizeMessage(body.length) } });
      }
      this.send(streamId, body);
    }
    this.server.maybeIdle();
  }
}

export class TtrpcServer {
  private readonly services = new Map<string, Map<string, RawMethod>>();
  private readonly connections = new Set<Connection>();
  private readonly listeners = new Set<net.Server>();
  private readonly socketPaths = new Set<string>();
  private readonly log: Logger;
  private idleWaiters: Array<() => void> = [];
  closing = false;

  constructor(opts: ServerOptions = {}) {
    this.log = opts.logger ?? silentLogger;
  }

  /** Register (or extend) a service: `register('containerd.task.v2.Task', { Create: async (req, ctx) => ... })`. */
  register(serviceName: string, methods: Record<string, RawMethod>): this {
    if (!serviceName) throw new TypeError('ttrpc service name must be non-empty');
    let svc = this.services.get(serviceName);
    if (!svc) {
      svc = new Map();
      this.services.set(serviceName, svc);
    }
    for (const [name, fn] of Object.entries(methods)) {
      if (typeof fn !== 'function') throw new TypeError(`ttrpc method ${serviceName}/${name} must be a function`);
      svc.set(name, fn);
    }
    return this;
  }

  /** @internal */
  service(name: string): Map<string, RawMethod> | undefined {
    return this.services.get(name);
  }

  /** Serve one already-connected duplex stream. */
  serve(stream: Duplex): void {
    if (this.closing) {
      stream.destroy();
      return;
    }
    this.connections.add(new Connection(this, stream, this.log));
  }

  /** Accept connections from a net.Server (e.g. one passed to the shim as fd 3). */
  serveListener(listener: net.Server): void {
    this.listeners.add(listener);
    listener.on('connection', (sock: net.Socket) => this.serve(sock));
  }

  /** Listen on a unix socket path (replacing a stale socket file), mode 0600 by default. */
  async listen(socketPath: string, mode = 0o600): Promise<net.Server> {
    await rm(socketPath, { force: true });
    const listener = net.createServer();
    await new Promise<void>((resolve, reject) => {
      listener.once('error', reject);
      listener.listen(socketPath, () => {
        listener.off('error', reject);
        resolve();
      });
    });
    await chmod(socketPath, mode);
    this.socketPaths.add(socketPath);
    this.serveListener(listener);
    return listener;
  }

  /** @internal */
  connectionClosed(c: Connection): void {
    this.connections.delete(c);
    this.maybeIdle();
  }

  /** @internal */
  maybeIdle(): void {
    if (![...this.connections].every((c) => c.idle)) return;
    const w = this.idleWaiters;
    this.idleWaiters = [];
    for (const f of w) f();
  }

  /**
   * Graceful shutdown: stop accepting connections and new requests, wait (up to `timeoutMs`) for in-flight
   * calls to answer, then close every connection.
   */
  async close(opts: { timeoutMs?: number } = {}): Promise<void> {
    this.closing = true;
    for (const l of this.listeners) l.close();
    this.listeners.clear();
    // sockets created by listen() are removed so a later start does not find a stale one
    await Promise.all([...this.socketPaths].map((p) => rm(p, { force: true })));
    this.socketPaths.clear();
    const timeoutMs = opts.timeoutMs ?? 5000;
    if (![...this.connections].every((c) => c.idle)) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, timeoutMs);
        this.idleWaiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    await Promise.all([...this.connections].map((c) => c.endAndWait(1000)));
    this.connections.clear();
  }
}
