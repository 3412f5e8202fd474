/** containerd shim Task API v2/v3 message shapes (camelCase of upstream field names). */
import type { Any, Timestamp } from './wellknown.js';

export type Empty = Record<string, never>;

export interface Mount {
  type: string;
  source: string;
  target: string;
  options: string[];
}

/** containerd.v1.types.Status */
export const TaskStatus = { UNKNOWN: 0, CREATED: 1, RUNNING: 2, STOPPED: 3, PAUSED: 4, PAUSING: 5 } as const;
export type TaskStatus = (typeof TaskStatus)[keyof typeof TaskStatus];

export interface ProcessInfo {
  pid: number;
  info?: Any;
}

export interface CreateTaskRequest {
  id: string;
  bundle: string;
  rootfs: Mount[];
  terminal: boolean;
  stdin: string;
  stdout: string;
  stderr: string;
  checkpoint: string;
  parentCheckpoint: string;
  options?: Any;
}
export interface CreateTaskResponse {
  pid: number;
}
export interface IdExec {
  id: string;
  execId: string;
}
export type StartRequest = IdExec;
export interface StartResponse {
  pid: number;
}
export type DeleteRequest = IdExec;
export interface DeleteResponse {
  pid: number;
  exitStatus: number;
  exitedAt?: Timestamp;
}
export interface ExecProcessRequest {
  id: string;
  execId: string;
  terminal: boolean;
  stdin: string;
  stdout: string;
  stderr: string;
  spec?: Any;
}
export interface ResizePtyRequest {
  id: string;
  execId: string;
  width: number;
  height: number;
}
export type StateRequest = IdExec;
export interface StateResponse {
  id: string;
  bundle: string;
  pid: number;
  status: TaskStatus;
  stdin: string;
  stdout: string;
  stderr: string;
  terminal: boolean;
  exitStatus: number;
  exitedAt?: Timestamp;
  execId: string;
}
export interface KillRequest {
  id: string;
  execId: string;
  signal: number;
  all: boolean;
}
export interface CloseIORequest {
  id: string;
  execId: string;
  stdin: boolean;
}
export interface PidsRequest {
  id: string;
}
export interface PidsResponse {
  processes: ProcessInfo[];
}
export interface CheckpointTaskRequest {
  id: string;
  path: string;
  options?: Any;
}
export interface UpdateTaskRequest {
  id: string;
  resources?: Any;
  annotations: Record<string, string>;
}
export type WaitRequest = IdExec;
export interface WaitResponse {
  exitStatus: number;
  exitedAt?: Timestamp;
}
export interface StatsRequest {
  id: string;
}
export interface StatsResponse {
  stats?: Any;
}
export interface ConnectRequest {
  id: string;
}
export interface ConnectResponse {
  shimPid: number;
  taskPid: number;
  version: string;
}
export interface ShutdownRequest {
  id: string;
  now: boolean;
}
export interface PauseRequest {
  id: string;
}
export type ResumeRequest = PauseRequest;

/** Method name → [request, response] for containerd.task.v2.Task. */
export interface TaskMethods {
  State: [StateRequest, StateResponse];
  Create: [CreateTaskRequest, CreateTaskResponse];
  Start: [StartRequest, StartResponse];
  Delete: [DeleteRequest, DeleteResponse];
  Pids: [PidsRequest, PidsResponse];
  Pause: [PauseRequest, Empty];
  Resume: [ResumeRequest, Empty];
  Checkpoint: [CheckpointTaskRequest, Empty];
  Kill: [KillRequest, Empty];
  Exec: [ExecProcessRequest, Empty];
  ResizePty: [ResizePtyRequest, Empty];
  CloseIO: [CloseIORequest, Empty];
  Update: [UpdateTaskRequest, Empty];
  Wait: [WaitRequest, WaitResponse];
  Stats: [StatsRequest, StatsResponse];
  Connect: [ConnectRequest, ConnectResponse];
  Shutdown: [ShutdownRequest, Empty];
}
