/**
 * Devices kubelet assigned to a pod, from the PodResources API (`v1.PodResourcesLister/Get` over the kubelet's unix
 * socket), as CDI names `<resourceName>=<deviceId>` (Kata's cold-plug path). DRA claims contribute their CDI device
 * names as they are.
 */
import fs from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import { namesFromPodResources } from '../../cdi/index.js';
import { messageCodec } from '../protocols/codec.js';
import { CcgpuError, Code } from '../errors/index.js';

interface GetRequest {
  podName: string;
  podNamespace: string;
}
interface ContainerDevices {
  resourceName: string;
  deviceIds: string[];
}
interface PodResources {
  name: string;
  namespace: string;
  containers: Array<{
    name: string;
    devices: ContainerDevices[];
    dynamicResources?: Array<{ claimResources: Array<{ cdiDevices: Array<{ name: string }> }> }>;
  }>;
}
interface GetResponse {
  podResources?: PodResources;
}

export const POD_NAME_ANNOTATIONS = ['io.kubernetes.cri.sandbox-name', 'io.kubernetes.cri-o.KubeName'];
export const POD_NAMESPACE_ANNOTATIONS = ['io.kubernetes.cri.sandbox-namespace', 'io.kubernetes.cri-o.Namespace'];
const MAX_RECEIVE = 16 * 1024 * 1024;

/** Pod name and namespace from the sandbox annotations (containerd CRI, then CRI-O). */
export function podIdentity(annotations: Record<string, string>): { name: string; namespace: string } | undefined {
  const name = POD_NAME_ANNOTATIONS.map((k) => annotations[k]).find(Boolean);
  const namespace = POD_NAMESPACE_ANNOTATIONS.map((k) => annotations[k]).find(Boolean);
  return name && namespace ? { name, namespace } : undefined;
}

/** Whether `path` is a unix socket (the condition Kata uses before dialling kubelet). */
export function isUnixSocket(path: string): boolean {
  try {
    return fs.statSync(path).isSocket();
  } catch {
    return false;
  }
}

export function podResourceNames(resp: GetResponse): string[] {
  const entries: ContainerDevices[] = [];
  const dra: string[] = [];
  for (const c of resp.podResources?.containers ?? []) {
    entries.push(...(c.devices ?? []));
    for (const d of c.dynamicResources ?? [])
      for (const r of d.claimResources ?? []) for (const n of r.cdiDevices ?? []) dra.push(n.name);
  }
  const names = namesFromPodResources(entries.map((e) => ({ resourceName: e.resourceName, deviceIds: e.deviceIds })));
  for (const n of dra) if (!names.includes(n)) names.push(n);
  return names;
}

/** Calls kubelet's PodResources `Get` for one pod. */
export async function getPodResourceNames(
  socketPath: string,
  pod: { name: string; namespace: string },
  timeoutMs = 10_000,
): Promise<string[]> {
  const req = messageCodec<GetRequest>('v1.GetPodResourcesRequest');
  const res = messageCodec<GetResponse>('v1.GetPodResourcesResponse');
  const client = new grpc.Client(`unix://${socketPath}`, grpc.credentials.createInsecure(), {
    'grpc.max_receive_message_length': MAX_RECEIVE,
  });
  try {
    const resp = await new Promise<GetResponse>((resolve, reject) => {
      client.makeUnaryRequest<GetRequest, GetResponse>(
        '/v1.PodResourcesLister/Get',
        (v) => Buffer.from(req.encode(v)),
        (b) => res.decode(b),
        { podName: pod.name, podNamespace: pod.namespace },
        { deadline: Date.now() + timeoutMs },
        (err, value) => (err ? reject(err) : resolve(value ?? {})),
      );
    });
    return podResourceNames(resp);
  } catch (e) {
    throw new CcgpuError(
      `kubelet PodResources Get for pod ${pod.namespace}/${pod.name} at ${socketPath} failed: ${(e as Error).message}`,
      {
        code: Code.Unavailable,
        cause: e,
      },
    );
  } finally {
    client.close();
  }
}
