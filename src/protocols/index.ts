/**
 * Protocol definitions shared by host and guest: the .proto files under ./proto (ttrpc, containerd task API v2/v3,
 * events, Kata agent API + health, kubelet PodResources), Go-compatible codecs, and typed ttrpc services/clients.
 */
export { protoRoot, protoDir, lookupMessage, lookupService, PROTO_FILES } from './loader.js';
export { messageCodec, encodeMessage, decodeMessage, type MessageCodec } from './codec.js';
export { packAny, unpackAny, timestampFromDate, timestampToDate, type Any, type Timestamp } from './wellknown.js';
export * from './task-types.js';
export { registerTaskService, TaskClient, TASK_SERVICE_V2, TASK_SERVICE_V3, type TaskHandlers } from './task.js';
export * from './agent-types.js';
export {
  AgentClient,
  registerAgentService,
  registerHealthService,
  AGENT_SERVICE,
  AGENT_METHOD_NAMES,
  HEALTH_SERVICE,
  type AgentHandlers,
  type HealthHandlers,
  type AgentClientMethods,
} from './agent.js';
export * from './events.js';
export * from './podresources.js';
export {
  registerTypedService,
  serviceMethods,
  TypedClient,
  type DeepPartial,
  type Handlers,
  type MethodTable,
  type MethodInfo,
} from './typed-service.js';
