/** Container and process state on the host side of a sandbox. */
import type { ProcessIo, StdioPaths } from './process-io.js';
import type { OciSpec } from '../../cdi/index.js';

export type ProcessStatus = 'created' | 'running' | 'stopped';

export interface ExitInfo {
  exitStatus: number;
  exitedAt: Date;
}

export class ContainerProcess {
  status: ProcessStatus = 'created';
  exit: ExitInfo | undefined;
  io: ProcessIo | undefined;
  private waiters: Array<(e: ExitInfo) => void> = [];

  constructor(
    readonly containerId: string,
    /** '' for the container's init process. */
    readonly execId: string,
    readonly stdio: StdioPaths,
    /** OCI process JSON for execs. */
    readonly processSpec?: Record<string, unknown>,
  ) {}

  wait(): Promise<ExitInfo> {
    if (this.exit) return Promise.resolve(this.exit);
    return new Promise((r) => this.waiters.push(r));
  }

  markExited(exitStatus: number, at = new Date()): ExitInfo {
    if (this.exit) return this.exit;
    this.status = 'stopped';
    this.exit = { exitStatus, exitedAt: at };
    for (const w of this.waiters.splice(0)) w(this.exit);
    return this.exit;
  }
}

export class Container {
  readonly init: ContainerProcess;
  readonly execs = new Map<string, ContainerProcess>();
  /** Host mount points to undo on delete, innermost last. */
  readonly hostMounts: string[] = [];

  constructor(
    readonly id: string,
    readonly bundle: string,
    readonly spec: OciSpec,
    stdio: StdioPaths,
  ) {
    this.init = new ContainerProcess(id, '', stdio);
  }

  process(execId: string): ContainerProcess | undefined {
    return execId ? this.execs.get(execId) : this.init;
  }
}
