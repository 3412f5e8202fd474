/**
 * The agent's policy entry points: one per AgentService request type (41; ReadStdout and ReadStderr share
 * ReadStreamRequest), plus the AllowRequestsFailingPolicy pseudo entry.
 */

/** Request type names, as queried under `data.agent_policy.<Name>`. */
export const REQUEST_TYPES = [
  'AddARPNeighborsRequest',
  'AddSwapPathRequest',
  'AddSwapRequest',
  'CloseStdinRequest',
  'CopyFileRequest',
  'CreateContainerRequest',
  'CreateSandboxRequest',
  'DestroySandboxRequest',
  'ExecProcessRequest',
  'GetDiagnosticDataRequest',
  'GetIPTablesRequest',
  'GetMetricsRequest',
  'GetOOMEventRequest',
  'GuestDetailsRequest',
  'ListInterfacesRequest',
  'ListRoutesRequest',
  'MemAgentCompactConfig',
  'MemAgentMemcgConfig',
  'MemHotplugByProbeRequest',
  'OnlineCPUMemRequest',
  'PauseContainerRequest',
  'ReadStreamRequest',
  'RemoveContainerRequest',
  'RemoveStaleVirtiofsShareMountsRequest',
  'ReseedRandomDevRequest',
  'ResizeVolumeRequest',
  'ResumeContainerRequest',
  'SetGuestDateTimeRequest',
  'SetIPTablesRequest',
  'SetPolicyRequest',
  'SignalProcessRequest',
  'StartContainerRequest',
  'StatsContainerRequest',
  'TtyWinResizeRequest',
  'UpdateContainerRequest',
  'UpdateEphemeralMountsRequest',
  'UpdateInterfaceRequest',
  'UpdateRoutesRequest',
  'VolumeStatsRequest',
  'WaitProcessRequest',
  'WriteStreamRequest',
] as const;

export type RequestType = (typeof REQUEST_TYPES)[number];

export const ALLOW_REQUESTS_FAILING_POLICY = 'AllowRequestsFailingPolicy';

/** Decisions upstream rules.rego gives when no rule body applies (its `default` statements). */
export const UPSTREAM_DEFAULT_DECISIONS: Readonly<Record<RequestType, boolean>> = {
  AddARPNeighborsRequest: false,
  AddSwapPathRequest: false,
  AddSwapRequest: false,
  CloseStdinRequest: false,
  CopyFileRequest: false,
  CreateContainerRequest: false,
  CreateSandboxRequest: false,
  DestroySandboxRequest: true,
  ExecProcessRequest: false,
  GetDiagnosticDataRequest: false,
  GetIPTablesRequest: false,
  GetMetricsRequest: false,
  GetOOMEventRequest: true,
  GuestDetailsRequest: true,
  ListInterfacesRequest: false,
  ListRoutesRequest: false,
  MemAgentCompactConfig: false,
  MemAgentMemcgConfig: false,
  MemHotplugByProbeRequest: false,
  OnlineCPUMemRequest: true,
  PauseContainerRequest: false,
  ReadStreamRequest: false,
  RemoveContainerRequest: true,
  RemoveStaleVirtiofsShareMountsRequest: true,
  ReseedRandomDevRequest: false,
  ResizeVolumeRequest: false,
  ResumeContainerRequest: false,
  SetGuestDateTimeRequest: false,
  SetIPTablesRequest: false,
  SetPolicyRequest: false,
  SignalProcessRequest: true,
  StartContainerRequest: true,
  StatsContainerRequest: true,
  TtyWinResizeRequest: true,
  UpdateContainerRequest: false,
  UpdateEphemeralMountsRequest: false,
  UpdateInterfaceRequest: false,
  UpdateRoutesRequest: false,
  VolumeStatsRequest: false,
  WaitProcessRequest: true,
  WriteStreamRequest: false,
};

export function isRequestType(name: string): name is RequestType {
  return (REQUEST_TYPES as readonly string[]).includes(name);
}
