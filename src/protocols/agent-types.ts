/**
 * Kata agent API message shapes (package grpc; camelCase of upstream field names). The OCI spec (`grpc.Spec`)
 * and network/stats messages are typed loosely as records; see src/protocols/proto/kata/*.proto for fields.
 */
import type { Empty } from './task-types.js';

export type Msg = Record<string, unknown>;

/** grpc.Spec (oci.proto): protobuf rendering of the OCI runtime spec. Field names are upstream's (`Process`, `Linux`, ...). */
export type OciSpec = Msg;

export interface StringUser {
  uid: string;
  gid: string;
  additionalGids: string[];
}
export interface Device {
  id: string;
  type: string;
  vmPath: string;
  containerPath: string;
  options: string[];
}
export interface FSGroup {
  groupId: number;
  groupChangePolicy: number;
}
export interface Storage {
  driver: string;
  driverOptions: string[];
  source: string;
  fstype: string;
  options: string[];
  mountPoint: string;
  fsGroup?: FSGroup;
  shared: boolean;
}
export interface SharedMount {
  name: string;
  srcCtr: string;
  srcPath: string;
  dstCtr: string;
  dstPath: string;
}
export interface KernelModule {
  name: string;
  parameters: string[];
}
export interface CreateSandboxRequest {
  hostname: string;
  dns: string[];
  storages: Storage[];
  sandboxPidns: boolean;
  sandboxId: string;
  guestHookPath: string;
  kernelModules: KernelModule[];
  guestUserns: boolean;
}
export interface CreateContainerRequest {
  containerId: string;
  execId: string;
  stringUser?: StringUser;
  devices: Device[];
  storages: Storage[];
  OCI?: OciSpec;
  sandboxPidns: boolean;
  sharedMounts: SharedMount[];
  stdinPort: number;
  stdoutPort: number;
  stderrPort: number;
}
export interface ContainerIdRequest {
  containerId: string;
}
export interface RemoveContainerRequest {
  containerId: string;
  timeout: number;
}
export interface AgentExecProcessRequest {
  containerId: string;
  execId: string;
  stringUser?: StringUser;
  process?: Msg;
  stdinPort: number;
  stdoutPort: number;
  stderrPort: number;
}
export interface SignalProcessRequest {
  containerId: string;
  execId: string;
  signal: number;
}
export interface WaitProcessRequest {
  containerId: string;
  execId: string;
}
export interface WaitProcessResponse {
  status: number;
}
export interface UpdateContainerRequest {
  containerId: string;
  resources?: Msg;
}
export interface WriteStreamRequest {
  containerId: string;
  execId: string;
  data: Uint8Array;
}
export interface WriteStreamResponse {
  len: number;
}
export interface ReadStreamRequest {
  containerId: string;
  execId: string;
  len: number;
}
export interface ReadStreamResponse {
  data: Uint8Array;
}
export interface CloseStdinRequest {
  containerId: string;
  execId: string;
}
export interface TtyWinResizeRequest {
  containerId: string;
  execId: string;
  row: number;
  column: number;
}
export interface GuestDetailsRequest {
  memBlockSize: boolean;
  memHotplugProbe: boolean;
}
export interface AgentDetails {
  version: string;
  initDaemon: boolean;
  deviceHandlers: string[];
  storageHandlers: string[];
  supportsSeccomp: boolean;
  extraFeatures: string[];
}
export interface GuestDetailsResponse {
  memBlockSizeBytes: number;
  agentDetails?: AgentDetails;
  supportMemHotplugProbe: boolean;
}
export interface CopyFileRequest {
  path: string;
  fileSize: number;
  fileMode: number;
  dirMode: number;
  uid: number;
  gid: number;
  offset: number;
  data: Uint8Array;
}
export interface OOMEvent {
  containerId: string;
}
export interface SetPolicyRequest {
  policy: string;
}
export interface OnlineCPUMemRequest {
  wait: boolean;
  nbCpus: number;
  cpuOnly: boolean;
}
export interface SetGuestDateTimeRequest {
  Sec: number;
  Usec: number;
}

/** Every grpc.AgentService method → [request, response]. */
export interface AgentMethods {
  CreateContainer: [CreateContainerRequest, Empty];
  StartContainer: [ContainerIdRequest, Empty];
  RemoveContainer: [RemoveContainerRequest, Empty];
  ExecProcess: [AgentExecProcessRequest, Empty];
  SignalProcess: [SignalProcessRequest, Empty];
  WaitProcess: [WaitProcessRequest, WaitProcessResponse];
  UpdateContainer: [UpdateContainerRequest, Empty];
  UpdateEphemeralMounts: [{ storages: Storage[] }, Empty];
  StatsContainer: [ContainerIdRequest, Msg];
  PauseContainer: [ContainerIdRequest, Empty];
  ResumeContainer: [ContainerIdRequest, Empty];
  RemoveStaleVirtiofsShareMounts: [Empty, Empty];
  WriteStdin: [WriteStreamRequest, WriteStreamResponse];
  ReadStdout: [ReadStreamRequest, ReadStreamResponse];
  ReadStderr: [ReadStreamRequest, ReadStreamResponse];
  CloseStdin: [CloseStdinRequest, Empty];
  TtyWinResize: [TtyWinResizeRequest, Empty];
  UpdateInterface: [Msg, Msg];
  UpdateRoutes: [Msg, Msg];
  ListInterfaces: [Empty, Msg];
  ListRoutes: [Empty, Msg];
  AddARPNeighbors: [Msg, Empty];
  GetIPTables: [{ isIpv6: boolean }, { data: Uint8Array }];
  SetIPTables: [{ isIpv6: boolean; data: Uint8Array }, { data: Uint8Array }];
  GetMetrics: [Empty, { metrics: string }];
  MemAgentMemcgSet: [Msg, Empty];
  MemAgentCompactSet: [Msg, Empty];
  CreateSandbox: [CreateSandboxRequest, Empty];
  DestroySandbox: [Empty, Empty];
  OnlineCPUMem: [OnlineCPUMemRequest, Empty];
  ReseedRandomDev: [{ data: Uint8Array }, Empty];
  GetGuestDetails: [GuestDetailsRequest, GuestDetailsResponse];
  MemHotplugByProbe: [{ memHotplugProbeAddr: number[] }, Empty];
  SetGuestDateTime: [SetGuestDateTimeRequest, Empty];
  CopyFile: [CopyFileRequest, Empty];
  GetOOMEvent: [Empty, OOMEvent];
  AddSwap: [{ PCIPath: number[] }, Empty];
  AddSwapPath: [{ path: string }, Empty];
  GetVolumeStats: [{ volumeGuestPath: string }, Msg];
  ResizeVolume: [{ volumeGuestPath: string; size: number }, Empty];
  SetPolicy: [SetPolicyRequest, Empty];
}

export const HealthServingStatus = { UNKNOWN: 0, SERVING: 1, NOT_SERVING: 2 } as const;

export interface HealthMethods {
  Check: [{ service: string }, { status: number }];
  Version: [{ service: string }, { grpcVersion: string; agentVersion: string }];
}
