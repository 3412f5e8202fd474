/**
 * kubelet PodResources API v1 (`v1.PodResourcesLister`, gRPC on `<kubelet root>/pod-resources/kubelet.sock`):
 * message shapes and a @grpc/grpc-js ServiceDefinition built from our .proto, so a client is
 * `new (grpc.makeGenericClientConstructor(podResourcesServiceDefinition(), 'PodResourcesLister'))('unix://…', creds)`.
 */
import type { ServiceDefinition } from '@grpc/grpc-js';
import { decodeMessage, encodeMessage } from './codec.js';
import { serviceMethods } from './typed-service.js';

export const POD_RESOURCES_SERVICE = 'v1.PodResourcesLister';

export interface TopologyInfo {
  nodes: Array<{ ID: number }>;
}
export interface ContainerDevices {
  resourceName: string;
  deviceIds: string[];
  topology?: TopologyInfo;
}
export interface ContainerMemory {
  memoryType: string;
  size: number;
  topology?: TopologyInfo;
}
export interface ClaimResource {
  cdiDevices: Array<{ name: string }>;
  driverName: string;
  poolName: string;
  deviceName: string;
}
export interface DynamicResource {
  claimName: string;
  claimNamespace: string;
  claimResources: ClaimResource[];
}
export interface ContainerResources {
  name: string;
  devices: ContainerDevices[];
  cpuIds: number[];
  memory: ContainerMemory[];
  dynamicResources: DynamicResource[];
}
export interface PodResources {
  name: string;
  namespace: string;
  containers: ContainerResources[];
}
export interface GetPodResourcesRequest {
  podName: string;
  podNamespace: string;
}
export interface GetPodResourcesResponse {
  podResources?: PodResources;
}
export interface ListPodResourcesResponse {
  podResources: PodResources[];
}
export interface AllocatableResourcesResponse {
  devices: ContainerDevices[];
  cpuIds: number[];
  memory: ContainerMemory[];
}

/** grpc-js ServiceDefinition for v1.PodResourcesLister (List, GetAllocatableResources, Get). */
export function podResourcesServiceDefinition(): ServiceDefinition {
  const def: Record<string, unknown> = {};
  for (const m of serviceMethods(POD_RESOURCES_SERVICE)) {
    def[m.name] = {
      path: `/${POD_RESOURCES_SERVICE}/${m.name}`,
      requestStream: false,
      responseStream: false,
      requestSerialize: (v: unknown) => Buffer.from(encodeMessage(m.requestType, v)),
      requestDeserialize: (b: Buffer) => decodeMessage(m.requestType, b),
      responseSerialize: (v: unknown) => Buffer.from(encodeMessage(m.responseType, v)),
      responseDeserialize: (b: Buffer) => decodeMessage(m.responseType, b),
    };
  }
  return def as unknown as ServiceDefinition;
}
