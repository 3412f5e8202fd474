/**
 * Kata agent API over ttrpc: `AgentClient` (host side, one camelCase method per RPC, e.g. `createSandbox`) and
 * `registerAgentService` (guest side). Also the `grpc.Health` service the runtime polls before using the agent.
 */
import type { CallOptions, TtrpcClient, TtrpcServer } from '../ttrpc/index.js';
import type { AgentMethods, HealthMethods } from './agent-types.js';
import { TypedClient, registerTypedService, type DeepPartial, type Handlers } from './typed-service.js';

export const AGENT_SERVICE = 'grpc.AgentService';
export const HEALTH_SERVICE = 'grpc.Health';

export type AgentHandlers = Handlers<AgentMethods>;
export type HealthHandlers = Handlers<HealthMethods>;

export function registerAgentService(server: TtrpcServer, handlers: AgentHandlers): void {
  registerTypedService<AgentMethods>(server, AGENT_SERVICE, [AGENT_SERVICE], handlers);
}

export function registerHealthService(server: TtrpcServer, handlers: HealthHandlers): void {
  registerTypedService<HealthMethods>(server, HEALTH_SERVICE, [HEALTH_SERVICE], handlers);
}

type Lower<S extends string> = Uncapitalize<S>;

/** `client.createContainer(req, opts)` etc. for every AgentService method. */
export type AgentClientMethods = {
  [K in keyof AgentMethods & string as Lower<K>]: (
    request: DeepPartial<AgentMethods[K][0]>,
    opts?: CallOptions,
  ) => Promise<AgentMethods[K][1]>;
};

class AgentClientBase extends TypedClient<AgentMethods> {
  readonly health: TypedClient<HealthMethods>;

  constructor(ttrpc: TtrpcClient, defaults: CallOptions = {}) {
    super(ttrpc, AGENT_SERVICE, AGENT_SERVICE, defaults);
    this.health = new TypedClient<HealthMethods>(ttrpc, HEALTH_SERVICE, HEALTH_SERVICE, defaults);
  }

  /** grpc.Health/Check → serving status (1 = SERVING). */
  async check(opts: CallOptions = {}): Promise<number> {
    return (await this.health.call('Check', { service: '' }, opts)).status;
  }

  /** grpc.Health/Version → agent and API versions. */
  version(opts: CallOptions = {}): Promise<HealthMethods['Version'][1]> {
    return this.health.call('Version', { service: '' }, opts);
  }
}

/** Every grpc.AgentService RPC (kept equal to agent.proto by a unit test; avoids loading protos at import time). */
export const AGENT_METHOD_NAMES: ReadonlyArray<keyof AgentMethods & string> = [
  'CreateContainer',
  'StartContainer',
  'RemoveContainer',
  'ExecProcess',
  'SignalProcess',
  'WaitProcess',
  'UpdateContainer',
  'UpdateEphemeralMounts',
  'StatsContainer',
  'PauseContainer',
  'ResumeContainer',
  'RemoveStaleVirtiofsShareMounts',
  'WriteStdin',
  'ReadStdout',
  'ReadStderr',
  'CloseStdin',
  'TtyWinResize',
  'UpdateInterface',
  'UpdateRoutes',
  'ListInterfaces',
  'ListRoutes',
  'AddARPNeighbors',
  'GetIPTables',
  'SetIPTables',
  'GetMetrics',
  'MemAgentMemcgSet',
  'MemAgentCompactSet',
  'CreateSandbox',
  'DestroySandbox',
  'OnlineCPUMem',
  'ReseedRandomDev',
  'GetGuestDetails',
  'MemHotplugByProbe',
  'SetGuestDateTime',
  'CopyFile',
  'GetOOMEvent',
  'AddSwap',
  'AddSwapPath',
  'GetVolumeStats',
  'ResizeVolume',
  'SetPolicy',
];

for (const name of AGENT_METHOD_NAMES) {
  const lower = name.charAt(0).toLowerCase() + name.slice(1);
  Object.defineProperty(AgentClientBase.prototype, lower, {
    value: function (this: AgentClientBase, request: unknown, opts?: CallOptions) {
      return this.call(name, request as never, opts);
    },
    writable: true,
    configurable: true,
  });
}

/** Host-side client of the Kata agent: `call(method, req)` plus one camelCase method per RPC. */
export type AgentClient = AgentClientBase & AgentClientMethods;
export const AgentClient = AgentClientBase as unknown as new (
  ttrpc: TtrpcClient,
  defaults?: CallOptions,
) => AgentClient;
