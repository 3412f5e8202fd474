/**
 * The Kata agent API (grpc.AgentService) as ccgpu's guest agent implements it: sandbox storages, containers run
 * by runc from OCI bundles the agent writes, exec'd processes, stdio streams, signals, waits, stats, OOM events,
 * interface/route updates, and shutdown. Every request passes through the policy gate first; methods the agent
 * does not implement answer Unimplemented (after the policy check, as the Kata agent does).
 */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';
import { CcgpuError, Code } from '../errors/index.js';
import {
  AGENT_METHOD_NAMES,
  serviceMethods,
  AGENT_SERVICE,
  type AgentHandlers,
  type Storage,
} from '../protocols/index.js';
import { runCommand } from '../subprocess/index.js';
import { ContainerProcess } from './container-process.js';
import { grpcSpecToOciJson } from '../protocols/oci-spec.js';
import { checkId, ociConfigFromGrpcSpec, ociProcessFromGrpc, writeBundle } from './oci-bundle.js';
import { Runc } from './runc.js';
import { mountStorage, unmount, STORAGE_DRIVERS } from './storage.js';
import { vfioAssignments } from './devices.js';
import { updateInterface, updateRoutes, type GuestInterface, type GuestRoute } from './network.js';
import { cgroupStats } from './cgroup-stats.js';

export type PolicyDecision = { allowed: true } | { allowed: false; message: string; code?: Code };

/** The single policy hook every request passes through. */
export interface PolicyGate {
  /** `requestType` is the request message's name, e.g. `CreateContainerRequest` (what Kata's policy rules are named). */
  allow(requestType: string, request: object): Promise<PolicyDecision>;
  setPolicy(text: string): Promise<void>;
}

export const AGENT_VERSION = '0.1.0';

export interface AgentServiceOptions {
  log: Logger;
  policy: PolicyGate;
  runc: Runc;
  /** Bundles, pid files, runc logs: `<stateDir>/<containerId>/`. */
  stateDir: string;
  launchTimeoutMs: number;
  /** runc --no-pivot (the root is the initramfs, where pivot_root fails). */
  noPivot: boolean;
  powerOff: () => Promise<void>;
  mountStorage?: (s: Storage) => Promise<{ target: string }>;
  cgroupRoot?: string;
}

interface GuestContainer {
  id: string;
  dir: string;
  cgroupsPath: string;
  init: ContainerProcess;
  terminal: boolean;
  execs: Map<string, ContainerProcess>;
  mounts: string[];
  oomKills: number;
  parentOomKills: number;
}

function notFound(what: string): CcgpuError {
  return new CcgpuError(`${what} not found`, { code: Code.NotFound });
}

export class AgentService {
  readonly containers = new Map<string, GuestContainer>();
  private sandboxId = '';
  private readonly sandboxMounts: string[] = [];
  private readonly oomEvents: string[] = [];
  private oomWaiters: Array<(id: string) => void> = [];
  private oomTimer: NodeJS.Timeout | undefined;
  private destroying = false;
  private readonly requestTypes: Map<string, string>;
  private readonly log: Logger;

  constructor(private readonly o: AgentServiceOptions) {
    this.log = o.log;
    this.requestTypes = new Map(serviceMethods(AGENT_SERVICE).map((m) => [m.name, m.requestType.name]));
  }

  private process(containerId: string, execId: string): ContainerProcess {
    const c = this.containers.get(containerId);
    if (!c) throw notFound(`container ${containerId}`);
    if (execId === '' || execId === containerId) return c.init;
    const p = c.execs.get(execId);
    if (!p) throw notFound(`process ${execId} in container ${containerId}`);
    return p;
  }

  /** Every AgentService method: implemented ones, and Unimplemented for the rest, all behind the policy gate. */
  handlers(): AgentHandlers {
    const impl: AgentHandlers = {
      CreateSandbox: async (r) => {
        if (r.sandboxId) this.sandboxId = r.sandboxId;
        if (r.hostname)
          await writeFile('/proc/sys/kernel/hostname', r.hostname).catch((e: Error) =>
            this.log.warn({ err: e.message }, 'cannot set the hostname'),
          );
        for (const s of r.storages) {
          const m = await (this.o.mountStorage ?? mountStorage)(s);
          this.sandboxMounts.push(m.target);
          this.log.info({ driver: s.driver, source: s.source, mountPoint: s.mountPoint }, 'sandbox storage mounted');
        }
        for (const km of r.kernelModules) {
          await runCommand('modprobe', [km.name, ...km.parameters], { timeoutMs: 30_000 });
        }
        this.startOomWatch();
        this.log.info({ sandbox: this.sandboxId }, 'sandbox created');
        return {};
      },
      DestroySandbox: async () => {
        if (!this.destroying) {
          this.destroying = true;
          // answer first; the VM goes away right after
          setTimeout(() => void this.shutdown(), 100);
        }
        return {};
      },
      CreateContainer: async (r) => this.createContainer(r),
      StartContainer: async (r) => {
        const c = this.containers.get(r.containerId);
        if (!c) throw notFound(`container ${r.containerId}`);
        await c.init.start({
          argv: [
            this.o.runc.o.binary,
            ...this.o.runc.globalArgs(path.join(c.dir, 'runc.log')),
            'run',
            '--bundle',
            c.dir,
            '--pid-file',
            path.join(c.dir, 'init.pid'),
            ...(this.o.noPivot ? ['--no-pivot'] : []),
            c.id,
          ],
          pidFile: path.join(c.dir, 'init.pid'),
          logFile: path.join(c.dir, 'runc.log'),
          terminal: c.terminal,
          startTimeoutMs: this.o.launchTimeoutMs,
        });
        this.log.info({ container: c.id, pid: c.init.pid }, 'container started');
        // `runc run` removes the container's cgroup as soon as it exits: an OOM kill of the init process is seen in
        // the parent cgroup's hierarchical memory.events, compared with its count at start
        c.parentOomKills = this.oomKillCount(path.posix.dirname(c.cgroupsPath));
        void c.init.wait().then((status) => this.checkOomAtExit(c, status));
        return {};
      },
      ExecProcess: async (r) => {
        const c = this.containers.get(r.containerId);
        if (!c) throw notFound(`container ${r.containerId}`);
        checkId(r.execId, 'exec_id');
        if (c.execs.has(r.execId) || r.execId === c.id)
          throw new CcgpuError(`exec ${r.execId} already exists in container ${c.id}`, { code: Code.AlreadyExists });
        if (!c.init.started || c.init.exited)
          throw new CcgpuError(`container ${c.id} is not running`, { code: Code.FailedPrecondition });
        const proc = ociProcessFromGrpc(r.process as Record<string, unknown> | undefined, `ExecProcess ${r.execId}`);
        const file = path.join(c.dir, `exec-${r.execId}.json`);
        await writeFile(file, JSON.stringify(proc), { mode: 0o600 });
        const p = new ContainerProcess(c.id, r.execId, this.log);
        c.execs.set(r.execId, p);
        const logFile = path.join(c.dir, `exec-${r.execId}.log`);
        const pidFile = path.join(c.dir, `exec-${r.execId}.pid`);
        try {
          await p.start({
            argv: [
              this.o.runc.o.binary,
              ...this.o.runc.globalArgs(logFile),
              'exec',
              '--process',
              file,
              '--pid-file',
              pidFile,
              c.id,
            ],
            pidFile,
            logFile,
            terminal: proc.terminal === true,
            startTimeoutMs: this.o.launchTimeoutMs,
          });
        } catch (e) {
          c.execs.delete(r.execId);
          throw e;
        }
        return {};
      },
      SignalProcess: async (r) => {
        const c = this.containers.get(r.containerId);
        if (!c) throw notFound(`container ${r.containerId}`);
        if (r.execId === '') {
          if (!c.init.started || c.init.exited) return {};
          await this.o.runc.kill(c.id, r.signal, true);
          return {};
        }
        this.process(r.containerId, r.execId).signal(r.signal);
        return {};
      },
      WaitProcess: async (r) => ({ status: await this.process(r.containerId, r.execId).wait() }),
      WriteStdin: async (r) => ({ len: await this.process(r.containerId, r.execId).writeStdin(r.data) }),
      CloseStdin: async (r) => {
        this.process(r.containerId, r.execId).closeStdin();
        return {};
      },
      ReadStdout: async (r, ctx) => ({
        data: await this.process(r.containerId, r.execId).stdout.read(r.len, ctx.signal),
      }),
      ReadStderr: async (r, ctx) => ({
        data: await this.process(r.containerId, r.execId).stderr.read(r.len, ctx.signal),
      }),
      TtyWinResize: async (r) => {
        const p = this.process(r.containerId, r.execId);
        if (p.pid <= 0 || p.exited)
          throw new CcgpuError(`TtyWinResize: ${r.containerId}/${r.execId} is not running`, {
            code: Code.FailedPrecondition,
          });
        await runCommand('stty', ['-F', `/proc/${p.pid}/fd/0`, 'rows', String(r.row), 'cols', String(r.column)], {
          timeoutMs: 5_000,
        });
        return {};
      },
      UpdateContainer: async (r) => {
        const c = this.containers.get(r.containerId);
        if (!c) throw notFound(`container ${r.containerId}`);
        if (!c.init.started || c.init.exited)
          throw new CcgpuError(`container ${c.id} is not running`, { code: Code.FailedPrecondition });
        const resources =
          (grpcSpecToOciJson({ Linux: { Resources: r.resources ?? {} } }) as { linux?: { resources?: unknown } }).linux
            ?.resources ?? {};
        const file = path.join(c.dir, 'update-resources.json');
        await writeFile(file, JSON.stringify(resources), { mode: 0o600 });
        await this.o.runc.update(c.id, file);
        this.log.info({ container: c.id }, 'container resources updated');
        return {};
      },
      RemoveContainer: async (r) => {
        const c = this.containers.get(r.containerId);
        if (!c) throw notFound(`container ${r.containerId}`);
        await this.removeContainer(c, (r.timeout || 10) * 1000);
        return {};
      },
      StatsContainer: async (r) => {
        const c = this.containers.get(r.containerId);
        if (!c) throw notFound(`container ${r.containerId}`);
        return {
          cgroupStats: cgroupStats(path.join(this.o.cgroupRoot ?? '/sys/fs/cgroup', c.cgroupsPath)),
          networkStats: [],
        };
      },
      GetGuestDetails: async () => ({
        memBlockSizeBytes: memBlockSize(),
        supportMemHotplugProbe: false,
        agentDetails: {
          version: AGENT_VERSION,
          initDaemon: process.pid === 1,
          deviceHandlers: ['vfio-pci-gk', 'vfio-pci'],
          storageHandlers: [...STORAGE_DRIVERS],
          supportsSeccomp: true,
          extraFeatures: [],
        },
      }),
      GetOOMEvent: async (_r, ctx) => ({ containerId: await this.nextOomEvent(ctx.signal) }),
      OnlineCPUMem: async () => ({}),
      UpdateInterface: async (r) => {
        const iface = (r as { interface?: GuestInterface }).interface;
        if (!iface)
          throw new CcgpuError('UpdateInterface: the request has no interface', { code: Code.InvalidArgument });
        return (await updateInterface(iface)) as never;
      },
      UpdateRoutes: async (r) => {
        const routes = ((r as { routes?: { Routes?: GuestRoute[] } }).routes?.Routes ?? []) as GuestRoute[];
        await updateRoutes(routes);
        return { Routes: routes } as never;
      },
      SetPolicy: async (r) => {
        await this.o.policy.setPolicy(r.policy);
        this.log.info('agent policy replaced by SetPolicy');
        return {};
      },
    };
    const out: Record<string, unknown> = {};
    for (const name of AGENT_METHOD_NAMES) {
      const fn = (impl as Record<string, ((req: never, ctx: never) => unknown) | undefined>)[name];
      const requestType = this.requestTypes.get(name) ?? `${name}Request`;
      out[name] = async (req: object, ctx: never) => {
        const d = await this.gate(requestType, req);
        if (!d.allowed) {
          // a denied read answers no data (the Kata agent does the same) rather than an error that ends the stream
          if (name === 'ReadStdout' || name === 'ReadStderr') return { data: new Uint8Array(0) };
          throw new CcgpuError(d.message, { code: d.code ?? Code.PermissionDenied });
        }
        if (!fn) throw new CcgpuError(`${name} is not implemented by the ccgpu agent`, { code: Code.Unimplemented });
        return fn(req as never, ctx);
      };
    }
    return out as AgentHandlers;
  }

  private async gate(requestType: string, req: object): Promise<PolicyDecision> {
    try {
      return await this.o.policy.allow(requestType, req);
    } catch (e) {
      // fail closed
      return { allowed: false, message: `${requestType}: internal error ${(e as Error).message}`, code: Code.Internal };
    }
  }

  private async createContainer(r: Parameters<NonNullable<AgentHandlers['CreateContainer']>>[0]) {
    const id = checkId(r.containerId, 'container_id');
    if (this.containers.has(id)) throw new CcgpuError(`container ${id} already exists`, { code: Code.AlreadyExists });
    const devices = vfioAssignments(r.devices);
    for (const d of devices) this.log.info({ container: id, ...d }, 'VFIO device assigned');
    const config = ociConfigFromGrpcSpec(r.OCI as Record<string, unknown> | undefined, {
      containerId: id,
      cgroupDriver: this.o.runc.o.cgroupDriver,
    });
    const dir = path.join(this.o.stateDir, id);
    const mounts: string[] = [];
    try {
      for (const s of r.storages) mounts.push((await (this.o.mountStorage ?? mountStorage)(s)).target);
      await mkdir(dir, { recursive: true, mode: 0o700 });
      await writeBundle(dir, config);
    } catch (e) {
      for (const m of mounts.reverse()) await unmount(m);
      await rm(dir, { recursive: true, force: true });
      throw e;
    }
    const proc = config.process as { terminal?: boolean };
    const cgroupsPath = String((config.linux as { cgroupsPath?: string }).cgroupsPath ?? `/${id}`);
    this.containers.set(id, {
      id,
      dir,
      cgroupsPath: this.o.runc.o.cgroupDriver === 'cgroupfs' ? cgroupsPath : '',
      init: new ContainerProcess(id, id, this.log),
      terminal: proc.terminal === true,
      execs: new Map(),
      mounts,
      oomKills: 0,
      parentOomKills: 0,
    });
    this.log.info({ container: id, cgroupsPath }, 'container created');
    return {};
  }

  private async removeContainer(c: GuestContainer, timeoutMs: number): Promise<void> {
    const all = [c.init, ...c.execs.values()];
    if (c.init.started && !c.init.exited) {
      await this.o.runc
        .kill(c.id, 9, true)
        .catch((e: Error) => this.log.warn({ container: c.id, err: e.message }, 'runc kill failed'));
      const done = await Promise.race([
        Promise.all(all.filter((p) => p.started).map((p) => p.wait())).then(() => true),
        new Promise<boolean>((r) => setTimeout(() => r(false), timeoutMs)),
      ]);
      if (!done) for (const p of all) p.abort();
    }
    if (c.init.started) {
      await this.o.runc
        .delete(c.id)
        .catch((e: Error) => this.log.warn({ container: c.id, err: e.message }, 'runc delete failed'));
    }
    for (const m of c.mounts.reverse()) {
      const err = await unmount(m);
      if (err) this.log.warn({ container: c.id, mount: m, err }, 'unmount failed');
    }
    await rm(c.dir, { recursive: true, force: true });
    this.containers.delete(c.id);
    this.log.info({ container: c.id }, 'container removed');
  }

  /** Stop every container, unmount, power off. */
  async shutdown(): Promise<void> {
    if (this.oomTimer) clearInterval(this.oomTimer);
    for (const c of [...this.containers.values()]) await this.removeContainer(c, 3_000).catch(() => undefined);
    for (const m of this.sandboxMounts.reverse()) await unmount(m);
    await this.o.powerOff();
  }

  private startOomWatch(): void {
    if (this.oomTimer || this.o.runc.o.cgroupDriver !== 'cgroupfs') return;
    this.oomTimer = setInterval(() => {
      for (const c of this.containers.values()) {
        let text: string;
        try {
          text = readFileSync(path.join(this.o.cgroupRoot ?? '/sys/fs/cgroup', c.cgroupsPath, 'memory.events'), 'utf8');
        } catch {
          continue;
        }
        const n = Number(/^oom_kill (\d+)$/m.exec(text)?.[1] ?? 0);
        if (n > c.oomKills) {
          c.oomKills = n;
          this.queueOomEvent(c.id);
        }
      }
    }, 1000);
    this.oomTimer.unref();
  }

  private oomKillCount(cgroupPath: string): number {
    if (!cgroupPath) return 0;
    try {
      const text = readFileSync(path.join(this.o.cgroupRoot ?? '/sys/fs/cgroup', cgroupPath, 'memory.events'), 'utf8');
      return Number(/^oom_kill (\d+)$/m.exec(text)?.[1] ?? 0);
    } catch {
      return 0;
    }
  }

  private checkOomAtExit(c: GuestContainer, status: number): void {
    if (status !== 137 || !c.cgroupsPath) return;
    const parent = path.posix.dirname(c.cgroupsPath);
    const now = this.oomKillCount(parent);
    if (now <= c.parentOomKills) return;
    for (const other of this.containers.values())
      if (path.posix.dirname(other.cgroupsPath) === parent) other.parentOomKills = now;
    this.queueOomEvent(c.id);
  }

  private queueOomEvent(id: string): void {
    this.log.warn({ container: id }, 'OOM kill in container');
    const w = this.oomWaiters.shift();
    if (w) w(id);
    else this.oomEvents.push(id);
  }

  private nextOomEvent(signal: AbortSignal): Promise<string> {
    const queued = this.oomEvents.shift();
    if (queued !== undefined) return Promise.resolve(queued);
    return new Promise((resolve, reject) => {
      const w = (id: string): void => {
        signal.removeEventListener('abort', onAbort);
        resolve(id);
      };
      const onAbort = (): void => {
        this.oomWaiters = this.oomWaiters.filter((x) => x !== w);
        reject(
          signal.reason instanceof Error
            ? signal.reason
            : new CcgpuError('GetOOMEvent cancelled', { code: Code.Canceled }),
        );
      };
      signal.addEventListener('abort', onAbort, { once: true });
      this.oomWaiters.push(w);
    });
  }
}

function memBlockSize(): number {
  try {
    return parseInt(readFileSync('/sys/devices/system/memory/block_size_bytes', 'utf8').trim(), 16) || 0;
  } catch {
    return 0;
  }
}
