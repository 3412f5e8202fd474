/**
 * containerd Task service (v2 and v3) of the shim: one sandbox per shim; the sandbox (or single) container's Create
 * boots the VM, later Creates add containers to it. Events are published in order through containerd's events
 * service; errors map to ttrpc status codes (NotFound, AlreadyExists, ...).
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';
import protobuf from 'protobufjs';
import type { OciSpec } from '../../cdi/index.js';
import { CcgpuError, Code, NotFoundError, UnimplementedError, errorMessage } from '../errors/index.js';
import {
  timestampFromDate,
  TaskStatus,
  type TaskHandlers,
  type Any,
  type EventsClient,
  type TaskEvents,
} from '../protocols/index.js';
import { Sandbox } from '../sandbox/sandbox.js';
import type { Container, ContainerProcess, ExitInfo } from '../sandbox/container.js';
import { groupOf } from './address.js';

export interface TaskServiceOptions {
  namespace: string;
  logger: Logger;
  events?: EventsClient;
  /** Called when the shim should exit (Shutdown with no tasks left). */
  onShutdown: () => void;
  /** Extra sandbox options (tests). */
  sandboxDefaults?: { runRoot?: string; qemuWrapper?: string[]; sysfsRoot?: string };
}

/** `runtimeoptions.v1.Options{type_url=1, config_path=2, config_body=3}` → config_path. */
export function configPathFromOptions(options: Any | undefined): string | undefined {
  if (!options || !options.value || options.value.length === 0) return undefined;
  try {
    const r = protobuf.Reader.create(options.value);
    while (r.pos < r.len) {
      const tag = r.uint32();
      if (tag >>> 3 === 2 && (tag & 7) === 2) return r.string() || undefined;
      r.skipType(tag & 7);
    }
  } catch {
    /* not runtimeoptions */
  }
  return undefined;
}

export class ShimTaskService {
  private sandbox: Sandbox | undefined;
  private creating: Promise<Sandbox> | undefined;
  private queue: Promise<void> = Promise.resolve();
  private readonly log: Logger;

  constructor(private readonly opts: TaskServiceOptions) {
    this.log = opts.logger;
  }

  private publish<T extends keyof TaskEvents>(topic: T, event: Partial<TaskEvents[T]>): void {
    const events = this.opts.events;
    if (!events) return;
    this.queue = this.queue.then(() =>
      events
        .publish(topic, this.opts.namespace, event)
        .catch((e) => this.log.warn({ topic, err: errorMessage(e) }, 'event not published')),
    );
  }

  private sb(): Sandbox {
    if (!this.sandbox) throw new NotFoundError('no sandbox: create the sandbox container first');
    return this.sandbox;
  }

  private onExit = (c: Container, p: ContainerProcess, e: ExitInfo): void => {
    this.publish('/tasks/exit', {
      containerId: c.id,
      id: p.execId || c.id,
      pid: this.sandbox?.pid ?? 0,
      exitStatus: e.exitStatus,
      exitedAt: timestampFromDate(e.exitedAt),
    });
  };

  get pid(): number {
    return this.sandbox?.pid ?? 0;
  }

  /** Stops the sandbox if any (signal handling, shutdown). */
  async destroy(): Promise<void> {
    await this.sandbox?.destroy();
    this.sandbox = undefined;
  }

  handlers(): TaskHandlers {
    return {
      Create: async (req) => {
        const spec = JSON.parse(fs.readFileSync(path.join(req.bundle, 'config.json'), 'utf8')) as OciSpec;
        const { isSandbox } = groupOf(req.id, spec.annotations ?? {});
        if (isSandbox && !this.sandbox) {
          if (!this.creating) {
            this.creating = Sandbox.create({
              id: req.id,
              spec,
              logger: this.log,
              configPath: configPathFromOptions(req.options),
              ...this.opts.sandboxDefaults,
            });
          }
          try {
            this.sandbox = await this.creating;
          } finally {
            this.creating = undefined;
          }
          this.sandbox.on('exit', this.onExit);
          this.sandbox.on('oom', (containerId: string) => this.publish('/tasks/oom', { containerId }));
        }
        const sb = this.sb();
        await sb.createContainer({
          id: req.id,
          bundle: req.bundle,
          spec,
          rootfs: req.rootfs.map((m) => ({ type: m.type, source: m.source, target: m.target, options: m.options })),
          stdio: { stdin: req.stdin, stdout: req.stdout, stderr: req.stderr, terminal: req.terminal },
        });
        this.publish('/tasks/create', {
          containerId: req.id,
          bundle: req.bundle,
          rootfs: req.rootfs,
          io: { stdin: req.stdin, stdout: req.stdout, stderr: req.stderr, terminal: req.terminal },
          pid: sb.pid,
        });
        return { pid: sb.pid };
      },

      Start: async (req) => {
        const sb = this.sb();
        await sb.start(req.id, req.execId);
        if (req.execId) this.publish('/tasks/exec-started', { containerId: req.id, execId: req.execId, pid: sb.pid });
        else this.publish('/tasks/start', { containerId: req.id, pid: sb.pid });
        return { pid: sb.pid };
      },

      Delete: async (req) => {
        const sb = this.sb();
        const exit = await sb.deleteProcess(req.id, req.execId);
        const exitedAt = timestampFromDate(exit?.exitedAt ?? new Date());
        if (!req.execId) {
          this.publish('/tasks/delete', {
            containerId: req.id,
            pid: sb.pid,
            exitStatus: exit?.exitStatus ?? 0,
            exitedAt,
            id: req.id,
          });
          if (sb.containers.size === 0) {
            await sb.destroy();
            this.sandbox = undefined;
          }
        }
        return { pid: sb.pid, exitStatus: exit?.exitStatus ?? 0, exitedAt };
      },

      Exec: async (req) => {
        const sb = this.sb();
        if (!req.spec?.value) throw new CcgpuError('exec without a process spec', { code: Code.InvalidArgument });
        const proc = JSON.parse(Buffer.from(req.spec.value).toString('utf8')) as Record<string, unknown>;
        sb.addExec(
          req.id,
          req.execId,
          { stdin: req.stdin, stdout: req.stdout, stderr: req.stderr, terminal: req.terminal },
          proc,
        );
        this.publish('/tasks/exec-added', { containerId: req.id, execId: req.execId });
        return {};
      },

      State: async (req) => {
        const sb = this.sb();
        const c = sb.container(req.id);
        const p = c.process(req.execId);
        if (!p) throw new NotFoundError(`exec ${req.execId} not found in container ${req.id}`);
        const status =
          p.status === 'created'
            ? TaskStatus.CREATED
            : p.status === 'running'
              ? TaskStatus.RUNNING
              : TaskStatus.STOPPED;
        return {
          id: req.id,
          execId: req.execId,
          bundle: c.bundle,
          pid: sb.pid,
          status,
          stdin: p.stdio.stdin,
          stdout: p.stdio.stdout,
          stderr: p.stdio.stderr,
          terminal: p.stdio.terminal,
          exitStatus: p.exit?.exitStatus ?? 0,
          exitedAt: p.exit ? timestampFromDate(p.exit.exitedAt) : undefined,
        };
      },

      Kill: async (req) => {
        await this.sb().kill(req.id, req.execId, req.signal, req.all);
        return {};
      },

      Wait: async (req) => {
        const e = await this.sb().wait(req.id, req.execId);
        return { exitStatus: e.exitStatus, exitedAt: timestampFromDate(e.exitedAt) };
      },

      Pids: async (req) => {
        this.sb().container(req.id);
        return { processes: [{ pid: this.sb().pid }] };
      },

      ResizePty: async (req) => {
        await this.sb().resizePty(req.id, req.execId, req.width, req.height);
        return {};
      },

      CloseIO: async (req) => {
        if (req.stdin) await this.sb().closeIo(req.id, req.execId);
        return {};
      },

      Update: async (req) => {
        await this.sb().update(req.id, req.resources);
        return {};
      },

      Stats: async (req) => ({ stats: await this.sb().stats(req.id) }),

      Connect: async (req) => {
        const sb = this.sandbox;
        if (sb && req.id && !sb.containers.has(req.id)) throw new NotFoundError(`container ${req.id} not found`);
        return { shimPid: process.pid, taskPid: sb?.pid ?? 0, version: '2' };
      },

      Shutdown: async (req) => {
        if (req.now || !this.sandbox || this.sandbox.containers.size === 0) {
          setImmediate(() => this.opts.onShutdown());
        }
        return {};
      },

      Pause: async () => {
        throw new UnimplementedError('Pause');
      },
      Resume: async () => {
        throw new UnimplementedError('Resume');
      },
      Checkpoint: async () => {
        throw new UnimplementedError('Checkpoint');
      },
    };
  }
}
