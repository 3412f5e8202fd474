/** containerd Task service (shim side) and client, served as both containerd.task.v2.Task and v3.Task. */
import type { CallOptions, TtrpcClient, TtrpcServer } from '../ttrpc/index.js';
import type { TaskMethods } from './task-types.js';
import { TypedClient, registerTypedService, type Handlers } from './typed-service.js';

export const TASK_SERVICE_V2 = 'containerd.task.v2.Task';
export const TASK_SERVICE_V3 = 'containerd.task.v3.Task';

export type TaskHandlers = Handlers<TaskMethods>;

/** Register the shim's Task handlers under both the v2 and v3 service names (wire-identical). */
export function registerTaskService(server: TtrpcServer, handlers: TaskHandlers): void {
  registerTypedService<TaskMethods>(server, TASK_SERVICE_V2, [TASK_SERVICE_V2, TASK_SERVICE_V3], handlers);
}

/** Client for a shim's Task service (what containerd does; used by tests and tools). */
export class TaskClient extends TypedClient<TaskMethods> {
  constructor(ttrpc: TtrpcClient, opts: { version?: 2 | 3; defaults?: CallOptions } = {}) {
    super(ttrpc, TASK_SERVICE_V2, opts.version === 3 ? TASK_SERVICE_V3 : TASK_SERVICE_V2, opts.defaults);
  }
}
