/**
 * Publishing containerd task events from a shim: `containerd.services.events.ttrpc.v1.Events/Forward` on
 * `$TTRPC_ADDRESS`, with an Envelope{timestamp, namespace, topic, event: Any{type_url: "containerd.events.X"}}.
 * Envelopes containerd would reject (bad namespace/topic) are refused here first with a clear error.
 */
import type { Logger } from 'pino';
import { Code, errorMessage } from '../errors/index.js';
import { silentLogger } from '../log/index.js';
import { TtrpcClient, TtrpcError } from '../ttrpc/index.js';
import { messageCodec } from './codec.js';
import type { Mount } from './task-types.js';
import { packAny, timestampFromDate, type Any, type Timestamp } from './wellknown.js';

export const EVENTS_SERVICE = 'containerd.services.events.ttrpc.v1.Events';

export interface TaskIO {
  stdin: string;
  stdout: string;
  stderr: string;
  terminal: boolean;
}
export interface TaskCreate {
  containerId: string;
  bundle: string;
  rootfs: Mount[];
  io?: TaskIO;
  checkpoint: string;
  pid: number;
}
export interface TaskStart {
  containerId: string;
  pid: number;
}
export interface TaskDelete {
  containerId: string;
  pid: number;
  exitStatus: number;
  exitedAt?: Timestamp;
  id: string;
}
export interface TaskExit {
  containerId: string;
  id: string;
  pid: number;
  exitStatus: number;
  exitedAt?: Timestamp;
}
export interface TaskOOM {
  containerId: string;
}
export interface TaskExecAdded {
  containerId: string;
  execId: string;
}
export interface TaskExecStarted {
  containerId: string;
  execId: string;
  pid: number;
}
export interface TaskPaused {
  containerId: string;
}
export type TaskResumed = TaskPaused;
export interface TaskCheckpointed {
  containerId: string;
  checkpoint: string;
}

/** Topic → event message for each task event a shim publishes. */
export interface TaskEvents {
  '/tasks/create': TaskCreate;
  '/tasks/start': TaskStart;
  '/tasks/delete': TaskDelete;
  '/tasks/exit': TaskExit;
  '/tasks/oom': TaskOOM;
  '/tasks/exec-added': TaskExecAdded;
  '/tasks/exec-started': TaskExecStarted;
  '/tasks/paused': TaskPaused;
  '/tasks/resumed': TaskResumed;
  '/tasks/checkpointed': TaskCheckpointed;
}

export const TASK_EVENT_TYPES: { readonly [T in keyof TaskEvents]: string } = {
  '/tasks/create': 'containerd.events.TaskCreate',
  '/tasks/start': 'containerd.events.TaskStart',
  '/tasks/delete': 'containerd.events.TaskDelete',
  '/tasks/exit': 'containerd.events.TaskExit',
  '/tasks/oom': 'containerd.events.TaskOOM',
  '/tasks/exec-added': 'containerd.events.TaskExecAdded',
  '/tasks/exec-started': 'containerd.events.TaskExecStarted',
  '/tasks/paused': 'containerd.events.TaskPaused',
  '/tasks/resumed': 'containerd.events.TaskResumed',
  '/tasks/checkpointed': 'containerd.events.TaskCheckpointed',
};

export interface Envelope {
  timestamp?: Timestamp;
  namespace: string;
  topic: string;
  event?: Any;
}

export interface ForwardRequest {
  envelope?: Envelope;
}

const IDENT = /^[A-Za-z0-9]+(?:[._-][A-Za-z0-9]+)*$/;

/** containerd's identifier rule (namespaces, topic components). */
export function validIdentifier(s: string): boolean {
  return s.length > 0 && s.length <= 76 && IDENT.test(s);
}

export function validateEnvelope(env: Envelope): void {
  if (!validIdentifier(env.namespace)) {
    throw new TtrpcError(
      Code.InvalidArgument,
      `event namespace ${JSON.stringify(env.namespace)} is not a valid containerd identifier`,
    );
  }
  if (
    !env.topic.startsWith('/') ||
    env.topic
      .slice(1)
      .split('/')
      .some((c) => !validIdentifier(c))
  ) {
    throw new TtrpcError(
      Code.InvalidArgument,
      `event topic ${JSON.stringify(env.topic)} must be /-separated identifiers starting with /`,
    );
  }
  if (!env.timestamp || (env.timestamp.seconds === 0 && env.timestamp.nanos === 0)) {
    throw new TtrpcError(Code.InvalidArgument, 'event timestamp must be set');
  }
}

/** Build the ForwardRequest bytes for one event. */
export function encodeForward(
  topic: string,
  namespace: string,
  eventTypeName: string,
  message: unknown,
  when = new Date(),
): Uint8Array {
  const envelope: Envelope = {
    timestamp: timestampFromDate(when),
    namespace,
    topic,
    event: packAny(eventTypeName, message),
  };
  validateEnvelope(envelope);
  return messageCodec<ForwardRequest>('containerd.services.events.ttrpc.v1.ForwardRequest').encode({ envelope });
}

export interface EventsClientOptions {
  logger?: Logger;
  /** Per-attempt timeout (Go shim: 5 s). */
  timeoutMs?: number;
  /** Attempts per event (Go shim: 5). */
  attempts?: number;
  retryDelayMs?: number;
}

/** Forwards events to containerd over ttrpc, (re)connecting to `address` lazily and retrying transient failures. */
export class EventsClient {
  private client: TtrpcClient | undefined;
  private readonly log: Logger;

  constructor(
    readonly address: string,
    private readonly opts: EventsClientOptions = {},
  ) {
    this.log = opts.logger ?? silentLogger;
  }

  private async conn(): Promise<TtrpcClient> {
    if (this.client && !this.client.closed) return this.client;
    this.client = await TtrpcClient.connect(this.address, { connectTimeoutMs: this.opts.timeoutMs ?? 5000 });
    return this.client;
  }

  /** Forward one event; `eventTypeName` is the full message name, e.g. `containerd.events.TaskExit`. */
  async forward(topic: string, namespace: string, eventTypeName: string, message: unknown): Promise<void> {
    const body = encodeForward(topic, namespace, eventTypeName, message);
    const attempts = this.opts.attempts ?? 5;
    let last: unknown;
    for (let i = 1; i <= attempts; i++) {
      try {
        const c = await this.conn();
        await c.call(EVENTS_SERVICE, 'Forward', body, { timeoutMs: this.opts.timeoutMs ?? 5000 });
        return;
      } catch (e) {
        last = e;
        const code = (e as { code?: unknown }).code;
        // only transport problems are worth retrying; containerd's verdict on the event is final
        if (code !== Code.Unavailable && code !== Code.DeadlineExceeded) throw e;
        this.log.warn({ topic, attempt: i, err: errorMessage(e) }, 'publishing event failed');
        this.client?.close();
        this.client = undefined;
        if (i < attempts) await new Promise((r) => setTimeout(r, this.opts.retryDelayMs ?? 100));
      }
    }
    throw last;
  }

  /** Publish a task event by topic (the message type is implied by the topic). */
  publish<T extends keyof TaskEvents>(topic: T, namespace: string, event: Partial<TaskEvents[T]>): Promise<void> {
    return this.forward(topic, namespace, TASK_EVENT_TYPES[topic], event);
  }

  close(): void {
    this.client?.close();
    this.client = undefined;
  }
}
