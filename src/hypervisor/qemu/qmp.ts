/**
 * QMP (QEMU Machine Protocol) client over a unix socket: newline-delimited JSON. Reads the greeting, negotiates
 * `qmp_capabilities`, runs commands with ids (answers are matched by id), and emits asynchronous events both as
 * `'event'` and under their own name (`'SHUTDOWN'`, `'DEVICE_DELETED'`, ...). Losing the connection rejects every
 * pending command.
 */
import { EventEmitter } from 'node:events';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { HypervisorError, TimeoutError, errorMessage } from '../../errors/index.js';
import { silentLogger } from '../../log/index.js';

export interface QmpVersion {
  qemu: { major: number; minor: number; micro: number };
  package: string;
}

export interface QmpGreeting {
  QMP: { version: QmpVersion; capabilities: string[] };
}

export interface QmpEvent {
  event: string;
  data?: Record<string, unknown>;
  timestamp?: { seconds: number; microseconds: number };
}

/** A command QEMU answered with `{"error": {"class", "desc"}}`. */
export class QmpError extends HypervisorError {
  constructor(
    readonly command: string,
    readonly errorClass: string,
    readonly desc: string,
  ) {
    super(`QMP command "${command}" failed: ${errorClass}: ${desc}`);
  }
}

export interface QmpConnectOptions {
  /** Bound on connecting, reading the greeting and negotiating capabilities. Default 10 s. */
  timeoutMs?: number;
  /** Capabilities to enable in qmp_capabilities (e.g. ["oob"]); default none. */
  enable?: string[];
  logger?: Logger;
}

interface Pending {
  id: number;
  command: string;
  resolve(v: unknown): void;
  reject(e: Error): void;
  timer?: NodeJS.Timeout;
}

const MAX_LINE = 16 * 1024 * 1024;

export class QmpClient extends EventEmitter {
  private buf = '';
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private closedError: Error | undefined;
  private greetingWaiter: { resolve(g: QmpGreeting): void; reject(e: Error): void } | undefined;
  private greetingValue: QmpGreeting | undefined;
  private readonly log: Logger;

  private constructor(
    private readonly stream: Duplex,
    logger?: Logger,
  ) {
    super();
    this.log = logger ?? silentLogger;
    stream.setEncoding?.('utf8');
    stream.on('data', (chunk: string | Buffer) =>
      this.onData(typeof chunk === 'string' ? chunk : chunk.toString('utf8')),
    );
    stream.on('error', (e) => this.shutdown(new HypervisorError(`QMP connection error: ${errorMessage(e)}`, e)));
    stream.on('close', () => this.shutdown(new HypervisorError('QMP connection closed')));
  }

  /** Connect to a QMP unix socket path (or use a connected stream), read the greeting and enter command mode. */
  static async connect(target: string | Duplex, opts: QmpConnectOptions = {}): Promise<QmpClient> {
    const timeoutMs = opts.timeoutMs ?? 10_000;
    const where = typeof target === 'string' ? target : 'stream';
    let timer: NodeJS.Timeout | undefined;
    let client: QmpClient | undefined;
    const work = (async () => {
      const stream =
        typeof target === 'string'
          ? await new Promise<net.Socket>((resolve, reject) => {
              const s = net.createConnection(target);
              s.once('connect', () => {
                s.off('error', reject);
                resolve(s);
              });
              s.once('error', (e) =>
                reject(new HypervisorError(`cannot connect to QMP socket ${target}: ${errorMessage(e)}`, e)),
              );
            })
          : target;
      client = new QmpClient(stream, opts.logger);
      await client.greetingPromise();
      await client.execute(
        'qmp_capabilities',
        opts.enable && opts.enable.length > 0 ? { enable: opts.enable } : undefined,
      );
      return client;
    })();
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new TimeoutError(`QMP handshake with ${where}`, timeoutMs)), timeoutMs);
    });
    try {
      return await Promise.race([work, timeout]);
    } catch (e) {
      client?.close();
      work.catch(() => undefined);
      throw e;
    } finally {
      clearTimeout(timer);
    }
  }

  /** The greeting QEMU sent (version, capabilities). */
  get greeting(): QmpGreeting {
    if (!this.greetingValue) throw new HypervisorError('QMP greeting not received yet');
    return this.greetingValue;
  }

  get closed(): boolean {
    return this.closedError !== undefined;
  }

  private greetingPromise(): Promise<QmpGreeting> {
    if (this.greetingValue) return Promise.resolve(this.greetingValue);
    if (this.closedError) return Promise.reject(this.closedError);
    return new Promise((resolve, reject) => (this.greetingWaiter = { resolve, reject }));
  }

  /**
   * Run a command; resolves with its `return` value, rejects with QmpError for an `error` answer, with
   * TimeoutError after `timeoutMs`, or HypervisorError when the connection goes away.
   */
  execute<T = unknown>(command: string, args?: Record<string, unknown>, opts: { timeoutMs?: number } = {}): Promise<T> {
    if (typeof command !== 'string' || command.length === 0) {
      return Promise.reject(new TypeError('QMP execute: command must be a non-empty string'));
    }
    if (this.closedError) return Promise.reject(this.closedError);
    const id = this.nextId++;
    const msg: Record<string, unknown> = { execute: command, id };
    if (args !== undefined) msg.arguments = args;
    return new Promise<T>((resolve, reject) => {
      const p: Pending = { id, command, resolve: resolve as (v: unknown) => void, reject };
      if (opts.timeoutMs !== undefined) {
        p.timer = setTimeout(() => {
          this.pending.delete(id);
          reject(new TimeoutError(`QMP command "${command}"`, opts.timeoutMs!));
        }, opts.timeoutMs);
      }
      this.pending.set(id, p);
      this.log.debug({ command, id }, 'qmp execute');
      this.stream.write(JSON.stringify(msg) + '\n');
    });
  }

  /** Resolve with the next event named `name` (optionally matching `filter`). */
  waitForEvent(name: string, opts: { timeoutMs?: number; filter?: (e: QmpEvent) => boolean } = {}): Promise<QmpEvent> {
    return new Promise((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const onEvent = (e: QmpEvent): void => {
        if (opts.filter && !opts.filter(e)) return;
        done();
        resolve(e);
      };
      const onClose = (err: Error): void => {
        done();
        reject(err);
      };
      const done = (): void => {
        if (timer) clearTimeout(timer);
        this.off(name, onEvent);
        this.off('close', onClose);
      };
      if (this.closedError) {
        reject(this.closedError);
        return;
      }
      this.on(name, onEvent);
      this.once('close', onClose);
      if (opts.timeoutMs !== undefined) {
        timer = setTimeout(() => {
          done();
          reject(new TimeoutError(`waiting for QMP event ${name}`, opts.timeoutMs!));
        }, opts.timeoutMs);
      }
    });
  }

  private onData(chunk: string): void {
    this.buf += chunk;
    let nl: number;
    while ((nl = this.buf.indexOf('\n')) >= 0) {
      const line = this.buf.slice(0, nl).trim();
      this.buf = this.buf.slice(nl + 1);
      if (line.length > 0) this.onLine(line);
    }
    if (this.buf.length > MAX_LINE) {
      this.shutdown(new HypervisorError(`QMP message longer than ${MAX_LINE} bytes`));
      this.stream.destroy();
    }
  }

  private onLine(line: string): void {
    let msg: Record<string, unknown>;
    try {
      msg = JSON.parse(line) as Record<string, unknown>;
    } catch {
      this.log.warn({ line: line.slice(0, 200) }, 'qmp: ignoring non-JSON line');
      return;
    }
    if (typeof msg !== 'object' || msg === null) return;
    if ('QMP' in msg) {
      this.greetingValue = msg as unknown as QmpGreeting;
      this.greetingWaiter?.resolve(this.greetingValue);
      this.greetingWaiter = undefined;
      return;
    }
    if (typeof msg.event === 'string') {
      const ev = msg as unknown as QmpEvent;
      this.log.debug({ event: ev.event }, 'qmp event');
      this.emit('event', ev);
      this.emit(ev.event, ev);
      return;
    }
    if ('return' in msg || 'error' in msg) {
      let p: Pending | undefined;
      if (typeof msg.id === 'number') p = this.pending.get(msg.id);
      else p = this.pending.values().next().value; // QMP answers in order; an id-less answer is the oldest
      if (!p) {
        this.log.warn({ id: msg.id }, 'qmp: answer for unknown command');
        return;
      }
      this.pending.delete(p.id);
      if (p.timer) clearTimeout(p.timer);
      if ('error' in msg) {
        const e = (msg.error ?? {}) as { class?: unknown; desc?: unknown };
        p.reject(new QmpError(p.command, String(e.class ?? 'GenericError'), String(e.desc ?? '')));
      } else {
        p.resolve(msg.return);
      }
    }
  }

  private shutdown(err: Error): void {
    if (this.closedError) return;
    this.closedError = err;
    this.greetingWaiter?.reject(err);
    this.greetingWaiter = undefined;
    for (const p of this.pending.values()) {
      if (p.timer) clearTimeout(p.timer);
      p.reject(new HypervisorError(`QMP command "${p.command}" failed: ${err.message}`, err));
    }
    this.pending.clear();
    this.emit('close', err);
  }

  /** Close the connection; pending commands are rejected. */
  close(): void {
    this.shutdown(new HypervisorError('QMP client closed'));
    this.stream.destroy();
  }
}
