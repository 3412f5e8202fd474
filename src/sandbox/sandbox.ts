/**
 * A sandbox: one QEMU guest running the ccgpu agent, and the containers in it. Created from the sandbox (or single)
 * container's bundle: configuration → launch plan → VM → agent → CreateSandbox; then containers are created,
 * started, exec'd into, signalled, waited for and deleted through the agent. Everything the sandbox creates on the
 * host lives under `<runRoot>/<id>/` and is removed by `destroy()`.
 */
import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';
import type { OciSpec } from '../../cdi/index.js';
import { applyAnnotations, loadConfig, type LoadedConfig } from '../config/index.js';
import { hostPathsFromRoot, guestCdiAnnotations } from '../devices/index.js';
import {
  CcgpuError,
  Code,
  ConfigError,
  NotFoundError,
  AlreadyExistsError,
  TimeoutError,
  errorMessage,
} from '../errors/index.js';
import { QemuVm, resolveGuestPciPath, sandboxPaths, SHARED_FS_MOUNT_TAG } from '../hypervisor/qemu/index.js';
import { connectAgent, type ConnectedAgent } from '../agent-client/index.js';
import { ociJsonToGrpcSpec } from '../protocols/oci-spec.js';
import { planSandboxLaunch, type LaunchPlan } from './launch-plan.js';
import { chooseProtection, hostMemoryMiB, tdxQgsSocketPresent } from './host-facts.js';
import { getPodResourceNames, isUnixSocket, podIdentity } from './pod-resources.js';
import { bindMount, mountRootfs, unmountIfMounted, type MountSpec } from './rootfs.js';
import { bindMountsToShare, guestSpec, GUEST_SHARED_DIR } from './guest-spec.js';
import { Container, ContainerProcess, type ExitInfo } from './container.js';
import { ProcessIo, type StdioPaths } from './process-io.js';
import { startVirtiofsd } from './virtiofsd.js';
import { packCgroupV2Metrics } from './cgroup-metrics.js';
import type { Any } from '../protocols/index.js';
import type { Spawned } from '../subprocess/index.js';

export const DEFAULT_RUN_ROOT = '/run/ccgpu';
const EXIT_VM_GONE = 255;

export interface SandboxOptions {
  id: string;
  spec: OciSpec;
  logger: Logger;
  /** containerd's `ConfigPath` runtime option. */
  configPath?: string;
  runRoot?: string;
  /** Prefix for the QEMU binary (tests). */
  qemuWrapper?: string[];
  /** sysfs root (tests). */
  sysfsRoot?: string;
}

export interface CreateContainerOptions {
  id: string;
  bundle: string;
  spec: OciSpec;
  rootfs: MountSpec[];
  stdio: StdioPaths;
}

/** Runs `fn`, failing with a TimeoutError naming `step` when the overall deadline passes first. */
async function step<T>(name: string, deadline: number, fn: () => Promise<T>): Promise<T> {
  const left = deadline - Date.now();
  if (left <= 0) throw new TimeoutError(name, 0);
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      fn(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new TimeoutError(`create container: ${name}`, left)), left);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

export class Sandbox extends EventEmitter {
  readonly containers = new Map<string, Container>();
  private destroyed = false;
  private vmGone: string | undefined;
  private guestPciPaths = new Map<string, string>();

  private constructor(
    readonly id: string,
    readonly loaded: LoadedConfig,
    readonly plan: LaunchPlan,
    readonly runDir: string,
    readonly vm: QemuVm,
    readonly agent: ConnectedAgent,
    private readonly log: Logger,
    private readonly virtiofsd?: Spawned,
  ) {
    super();
    vm.on('exit', () => this.onVmExit());
  }

  get pid(): number {
    return this.vm.pid;
  }

  get sharedDir(): string {
    return path.join(this.runDir, 'shared');
  }

  static async create(opts: SandboxOptions): Promise<Sandbox> {
    const log = opts.logger.child({ sandbox: opts.id });
    const annotations = opts.spec.annotations ?? {};
    const loaded = applyAnnotations(loadConfig({ configPath: opts.configPath }), annotations);
    for (const w of loaded.warnings) log.warn(w);
    const cfg = loaded.config;
    const deadline = Date.now() + cfg.runtime.createContainerTimeout * 1000;
    const runDir = path.join(opts.runRoot ?? DEFAULT_RUN_ROOT, opts.id);
    if (fs.existsSync(runDir)) throw new AlreadyExistsError(`sandbox ${opts.id} already exists (${runDir})`);
    fs.mkdirSync(runDir, { recursive: true, mode: 0o750 });
    let vm: QemuVm | undefined;
    let virtiofsd: Spawned | undefined;
    try {
      const host = hostPathsFromRoot(opts.sysfsRoot);
      // devices kubelet gave the pod (PodResources), else the spec's CDI annotations
      let podResourceNames: string[] | undefined;
      const sock = cfg.runtime.podResourceApiSock;
      if (cfg.hypervisor.coldPlugVfio !== 'no-port' && sock) {
        const pod = podIdentity(annotations);
        if (pod && isUnixSocket(sock)) {
          podResourceNames = await step('kubelet PodResources', deadline, () => getPodResourceNames(sock, pod));
          log.info({ devices: podResourceNames }, 'devices from kubelet PodResources');
        } else {
          log.info({ socket: sock }, 'PodResources socket unavailable or pod unknown; using CDI annotations');
        }
      }
      const choice = chooseProtection(cfg, { sysfs: host.sysfs });
      const sharedDir = path.join(runDir, 'shared');
      const sharing = cfg.hypervisor.sharedFs === 'virtio-9p' || cfg.hypervisor.sharedFs === 'virtio-fs';
      if (sharing) fs.mkdirSync(sharedDir, { recursive: true, mode: 0o750 });
      const plan = planSandboxLaunch({
        sandboxId: opts.id,
        loaded,
        spec: opts.spec,
        host,
        protection: choice.protection,
        cbitpos: choice.cbitpos,
        runDir,
        hostMemoryMiB: hostMemoryMiB(),
        tdxQgsSocketPresent: tdxQgsSocketPresent(),
        qmpFd: 3,
        vsock: cfg.agent.agentTransport === 'vsock' ? { vhostFd: 4, cid: 3 } : undefined,
        podResourceNames,
        sharedDir: sharing ? sharedDir : undefined,
      });
      if (cfg.agent.agentTransport === 'vsock') {
        throw new ConfigError(
          'agent_transport = "vsock" needs /dev/vhost-vsock, which ccgpu does not open yet; use "virtio-serial"',
          {
            file: loaded.file,
            table: 'agent.kata',
            key: 'agent_transport',
          },
        );
      }
      if (plan.initdata) fs.writeFileSync(plan.initdata.imagePath, plan.initdata.image, { mode: 0o640 });
      const paths = sandboxPaths(runDir);
      if (cfg.hypervisor.sharedFs === 'virtio-fs') {
        virtiofsd = await step('starting virtiofsd', deadline, () =>
          startVirtiofsd({
            binary: cfg.hypervisor.virtioFsDaemon ?? '',
            socketPath: paths.virtiofsSocket,
            sharedDir,
            logger: log,
          }),
        );
      }
      vm = await step('starting QEMU', deadline, () =>
        QemuVm.start({
          cmdline: plan.cmdline,
          qmpSocket: path.join(runDir, 'qmp.sock'),
          qmpFd: 3,
          logger: log,
          wrapper: opts.qemuWrapper,
          consoleSocket: paths.consoleSocket,
        }),
      );
      const startedVm = vm;
      const agent = await step('connecting to the agent', deadline, () =>
        connectAgent(
          { transport: 'virtio-serial', socketPath: paths.agentSocket },
          {
            timeoutMs: Math.min(cfg.agent.dialTimeout * 1000, Math.max(0, deadline - Date.now())),
            logger: log,
            aborted: () => (startedVm.running ? undefined : 'QEMU exited'),
          },
        ),
      );
      const sandbox = new Sandbox(opts.id, loaded, plan, runDir, vm, agent, log, virtiofsd);
      await step('resolving guest PCI paths', deadline, () => sandbox.resolveGuestPciPaths());
      await step('CreateSandbox', deadline, () =>
        agent.client.createSandbox({
          hostname: String((opts.spec as { hostname?: string }).hostname ?? ''),
          sandboxId: opts.id,
          storages:
            cfg.hypervisor.sharedFs === 'virtio-fs'
              ? [
                  {
                    driver: 'virtio-fs',
                    source: SHARED_FS_MOUNT_TAG,
                    fstype: 'virtiofs',
                    options: [],
                    mountPoint: GUEST_SHARED_DIR,
                  },
                ]
              : cfg.hypervisor.sharedFs === 'virtio-9p'
                ? [
                    {
                      driver: '9p',
                      source: SHARED_FS_MOUNT_TAG,
                      fstype: '9p',
                      options: ['trans=virtio', 'version=9p2000.L', 'cache=mmap', 'msize=512000'],
                      mountPoint: GUEST_SHARED_DIR,
                    },
                  ]
                : [],
        }),
      );
      log.info({ pid: vm.pid }, 'sandbox ready');
      void sandbox.followOomEvents();
      return sandbox;
    } catch (e) {
      if (vm) await vm.stop(2_000).catch(() => undefined);
      if (virtiofsd) {
        virtiofsd.kill('SIGKILL');
        await virtiofsd.exited;
      }
      fs.rmSync(runDir, { recursive: true, force: true });
      throw e;
    }
  }

  /** Guest PCI paths of the cold-plugged VFIO functions, over QMP (a failure is a warning; the device gets no path). */
  private async resolveGuestPciPaths(): Promise<void> {
    for (const d of this.plan.topology.devices) {
      try {
        this.guestPciPaths.set(d.id, await resolveGuestPciPath(this.vm.qmp, d.id));
      } catch (e) {
        this.log.warn({ device: d.fn.bdf, err: errorMessage(e) }, 'cannot resolve the guest PCI path');
      }
    }
  }

  /**
   * The agent's OOM events (GetOOMEvent blocks until a container's cgroup had an OOM kill), emitted as
   * `oom` (containerId) until the sandbox goes away.
   */
  async followOomEvents(): Promise<void> {
    while (!this.destroyed && !this.vmGone) {
      try {
        const e = await this.agent.client.getOOMEvent({});
        if (e.containerId) {
          this.log.warn({ container: e.containerId }, 'OOM kill in the guest');
          this.emit('oom', e.containerId);
        }
      } catch (err) {
        if (this.destroyed || this.vmGone) return;
        this.log.debug({ err: errorMessage(err) }, 'GetOOMEvent failed; retrying');
        await new Promise((r) => setTimeout(r, 1_000));
      }
    }
  }

  private onVmExit(): void {
    if (this.destroyed) return;
    this.vmGone = 'QEMU exited';
    this.log.error('the VM is gone; every process of the sandbox exits');
    for (const c of this.containers.values()) {
      for (const p of [c.init, ...c.execs.values()]) {
        if (p.status !== 'stopped') {
          p.io?.close();
          const e = p.markExited(EXIT_VM_GONE);
          this.emit('exit', c, p, e);
        }
      }
    }
    this.agent.close();
  }

  /**
   * An agent call whose failure may be the guest dying under it (the connection drops a moment before QEMU's exit is
   * seen): after a failure, wait briefly for QEMU to exit and, if it did, say so instead of the bare connection error.
   */
  private async agentCall<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      if (!this.vmGone && this.vm.running)
        await Promise.race([this.vm.exited, new Promise((r) => setTimeout(r, 2_000))]);
      if (this.vmGone || !this.vm.running) {
        throw new CcgpuError(`sandbox ${this.id}: ${what}: the guest is gone (QEMU exited; ${errorMessage(e)})`, {
          code: Code.Unavailable,
          cause: e,
        });
      }
      throw e;
    }
  }

  private get client() {
    if (this.vmGone) throw new CcgpuError(`sandbox ${this.id}: ${this.vmGone}`, { code: Code.Unavailable });
    return this.agent.client;
  }

  container(id: string): Container {
    const c = this.containers.get(id);
    if (!c) throw new NotFoundError(`container ${id} not found in sandbox ${this.id}`);
    return c;
  }

  async createContainer(o: CreateContainerOptions): Promise<Container> {
    if (this.containers.has(o.id)) throw new AlreadyExistsError(`container ${o.id} already exists`);
    const cfg = this.loaded.config;
    const deadline = Date.now() + cfg.runtime.createContainerTimeout * 1000;
    const c = new Container(o.id, o.bundle, o.spec, o.stdio);
    const shared = path.join(this.sharedDir, o.id);
    try {
      // rootfs on <bundle>/rootfs, then into the shared directory
      const bundleRootfs = path.join(o.bundle, 'rootfs');
      await step('mounting the rootfs', deadline, async () => {
        if (o.rootfs.length > 0) {
          await mountRootfs(o.rootfs, bundleRootfs);
          c.hostMounts.push(bundleRootfs);
        }
        const specRoot = String((o.spec.root as { path?: string } | undefined)?.path ?? 'rootfs');
        const rootfsSource = path.isAbsolute(specRoot) ? specRoot : path.join(o.bundle, specRoot);
        await bindMount(rootfsSource, path.join(shared, 'rootfs'));
        c.hostMounts.push(path.join(shared, 'rootfs'));
      });
      const guestMountSources = new Map<string, string>();
      let i = 0;
      for (const m of bindMountsToShare(o.spec)) {
        if (!fs.existsSync(m.source)) continue;
        const name = `mount-${i++}`;
        await bindMount(m.source, path.join(shared, name), m.readonly);
        c.hostMounts.push(path.join(shared, name));
        guestMountSources.set(m.destination, `${GUEST_SHARED_DIR}/${o.id}/${name}`);
      }
      const vfioNodes = (o.spec.linux?.devices ?? [])
        .map((d) => d.path)
        .filter((p) => p.startsWith('/dev/vfio/') && p !== '/dev/vfio/vfio');
      const spec = guestSpec({
        containerId: o.id,
        spec: o.spec,
        guestRootfs: `${GUEST_SHARED_DIR}/${o.id}/rootfs`,
        guestMountSources,
        vfioMode: cfg.runtime.vfioMode,
        disableGuestSeccomp: cfg.hypervisor.disableGuestSeccomp,
        guestAnnotations: vfioNodes.length > 0 ? guestCdiAnnotations(this.plan.topology.devices, vfioNodes) : {},
      });
      const devices = this.agentDevices(vfioNodes);
      await step('CreateContainer', deadline, () =>
        this.client.createContainer({
          containerId: o.id,
          execId: o.id,
          OCI: ociJsonToGrpcSpec(spec),
          devices,
          storages: [],
        }),
      );
      this.containers.set(o.id, c);
      return c;
    } catch (e) {
      await this.undoMounts(c);
      throw e;
    }
  }

  /** `vfio-pci-gk` devices with `<host BDF>=<guest path>` for the container's VFIO nodes. */
  private agentDevices(nodes: string[]) {
    const type = this.loaded.config.runtime.vfioMode === 'vfio' ? 'vfio-pci' : 'vfio-pci-gk';
    return nodes.flatMap((n) => {
      const placed = this.plan.topology.devices.filter((d) => d.node.hostPath === n);
      if (placed.length === 0) return [];
      const options = placed.flatMap((d) => {
        const p = this.guestPciPaths.get(d.id);
        return p ? [`${d.fn.bdf}=${p}`] : [];
      });
      return [{ id: path.basename(n), type, containerPath: n, vmPath: '', options }];
    });
  }

  private async undoMounts(c: Container): Promise<void> {
    for (const m of [...c.hostMounts].reverse()) await unmountIfMounted(m).catch(() => undefined);
    c.hostMounts.length = 0;
    fs.rmSync(path.join(this.sharedDir, c.id), { recursive: true, force: true });
  }

  async start(containerId: string, execId: string): Promise<ContainerProcess> {
    const c = this.container(containerId);
    const p = c.process(execId);
    if (!p) throw new NotFoundError(`exec ${execId} not found in container ${containerId}`);
    if (p.status !== 'created')
      throw new CcgpuError(`process ${execId || containerId} is already ${p.status}`, {
        code: Code.FailedPrecondition,
      });
    if (execId) {
      const proc = ociJsonToGrpcSpec({ process: p.processSpec ?? {} }).Process;
      await this.agentCall(`exec ${execId}`, () =>
        this.client.execProcess({ containerId, execId, process: proc as Record<string, unknown> }),
      );
    } else {
      await this.agentCall(`start ${containerId}`, () => this.client.startContainer({ containerId }));
    }
    // only now does the agent know the process: its output is buffered in the guest until these reads come
    p.io = new ProcessIo(
      this.client,
      containerId,
      execId || containerId,
      p.stdio,
      this.log.child({ container: containerId, exec: execId || undefined }),
    );
    p.status = 'running';
    void this.watch(c, p);
    return p;
  }

  /** Waits for the process in the guest, drains its output, then marks it exited and emits `exit`. */
  private async watch(c: Container, p: ContainerProcess): Promise<void> {
    let status = EXIT_VM_GONE;
    try {
      status = (await this.agent.client.waitProcess({ containerId: c.id, execId: p.execId || c.id })).status;
    } catch (e) {
      if (p.exit) return; // the VM went away first
      this.log.warn({ container: c.id, exec: p.execId, err: errorMessage(e) }, 'WaitProcess failed');
    }
    await Promise.race([p.io?.done, new Promise((r) => setTimeout(r, 5_000))]);
    p.io?.close();
    if (p.exit) return;
    const e = p.markExited(status);
    this.emit('exit', c, p, e);
  }

  addExec(
    containerId: string,
    execId: string,
    stdio: StdioPaths,
    processSpec: Record<string, unknown>,
  ): ContainerProcess {
    const c = this.container(containerId);
    if (c.execs.has(execId)) throw new AlreadyExistsError(`exec ${execId} already exists in container ${containerId}`);
    const p = new ContainerProcess(containerId, execId, stdio, processSpec);
    c.execs.set(execId, p);
    return p;
  }

  async kill(containerId: string, execId: string, signal: number, all = false): Promise<void> {
    const c = this.container(containerId);
    const p = c.process(execId);
    if (!p) throw new NotFoundError(`exec ${execId} not found in container ${containerId}`);
    if (p.status === 'stopped') return;
    if (p.status === 'created' && !execId) {
      // never started: nothing runs in the guest yet
      const e = p.markExited(128 + signal);
      this.emit('exit', c, p, e);
      return;
    }
    await this.client.signalProcess({ containerId, execId: all ? '' : execId || containerId, signal });
  }

  async wait(containerId: string, execId: string): Promise<ExitInfo> {
    const p = this.container(containerId).process(execId);
    if (!p) throw new NotFoundError(`exec ${execId} not found in container ${containerId}`);
    return p.wait();
  }

  async resizePty(containerId: string, execId: string, width: number, height: number): Promise<void> {
    await this.client.ttyWinResize({ containerId, execId: execId || containerId, row: height, column: width });
  }

  /** Task Stats: the container's cgroup in the guest, as containerd's cgroup v2 metrics. */
  async stats(containerId: string): Promise<Any> {
    this.container(containerId);
    const r = (await this.client.statsContainer({ containerId })) as {
      cgroupStats?: Parameters<typeof packCgroupV2Metrics>[0];
    };
    return packCgroupV2Metrics(r.cgroupStats);
  }

  /**
   * Task Update: containerd sends the new `LinuxResources` as JSON in an Any; the agent applies it with
   * `runc update`. Annotations-only updates change nothing in the guest.
   */
  async update(containerId: string, resources: { typeUrl: string; value: Uint8Array } | undefined): Promise<void> {
    this.container(containerId);
    if (!resources || resources.value.length === 0) return;
    if (!/LinuxResources$/.test(resources.typeUrl)) {
      throw new CcgpuError(
        `Update: resources of type "${resources.typeUrl}" are not supported (expected runtime-spec LinuxResources)`,
        {
          code: Code.InvalidArgument,
        },
      );
    }
    let json: unknown;
    try {
      json = JSON.parse(Buffer.from(resources.value).toString('utf8'));
    } catch (e) {
      throw new CcgpuError(`Update: resources are not valid JSON: ${errorMessage(e)}`, { code: Code.InvalidArgument });
    }
    const grpc = ociJsonToGrpcSpec({ linux: { resources: json } }) as {
      Linux?: { Resources?: Record<string, unknown> };
    };
    await this.client.updateContainer({ containerId, resources: grpc.Linux?.Resources ?? {} });
  }

  async closeIo(containerId: string, execId: string): Promise<void> {
    const p = this.container(containerId).process(execId);
    await p?.io?.closeIo();
  }

  /** Deletes an exec, or a container (removing it in the guest and undoing its host mounts). */
  async deleteProcess(containerId: string, execId: string): Promise<ExitInfo | undefined> {
    const c = this.container(containerId);
    if (execId) {
      const p = c.execs.get(execId);
      if (!p) throw new NotFoundError(`exec ${execId} not found in container ${containerId}`);
      if (p.status === 'running')
        throw new CcgpuError(`exec ${execId} is still running`, { code: Code.FailedPrecondition });
      c.execs.delete(execId);
      return p.exit;
    }
    if (c.init.status === 'running')
      throw new CcgpuError(`container ${containerId} is still running`, { code: Code.FailedPrecondition });
    if (!this.vmGone) {
      try {
        await this.agent.client.removeContainer({ containerId, timeout: 10 });
      } catch (e) {
        this.log.warn({ container: containerId, err: errorMessage(e) }, 'RemoveContainer failed');
      }
    }
    await this.undoMounts(c);
    this.containers.delete(containerId);
    return c.init.exit;
  }

  /** Stops the VM and removes everything the sandbox created on the host. Idempotent. */
  async destroy(): Promise<void> {
    if (this.destroyed) return;
    this.destroyed = true;
    if (!this.vmGone) {
      try {
        await this.agent.client.destroySandbox({}, { timeoutMs: 5_000 });
      } catch (e) {
        this.log.debug({ err: errorMessage(e) }, 'DestroySandbox did not answer');
      }
    }
    this.agent.close();
    await this.vm.stop(5_000);
    if (this.virtiofsd) {
      this.virtiofsd.kill('SIGTERM');
      const t = setTimeout(() => this.virtiofsd?.kill('SIGKILL'), 3_000);
      await this.virtiofsd.exited;
      clearTimeout(t);
    }
    for (const c of this.containers.values()) await this.undoMounts(c);
    this.containers.clear();
    fs.rmSync(this.runDir, { recursive: true, force: true });
    this.log.info('sandbox destroyed');
  }
}
