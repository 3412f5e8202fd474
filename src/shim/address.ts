/**
 * Shim socket addresses: `unix:///run/containerd/s/<sha256(address/namespace/group)>`, one per sandbox (group), as
 * containerd's shim library computes them.
 */
import { createHash } from 'node:crypto';
import path from 'node:path';

export const SOCKET_DIR = '/run/containerd/s';
export const CONTAINER_TYPE_ANNOTATIONS = ['io.kubernetes.cri.container-type', 'io.kubernetes.cri-o.ContainerType'];
export const SANDBOX_ID_ANNOTATIONS = [
  'io.kubernetes.cri.sandbox-id',
  'io.kubernetes.cri-o.SandboxID',
  'io.containerd.runc.v2.group',
];

export function socketPath(containerdAddress: string, namespace: string, group: string, dir = SOCKET_DIR): string {
  const h = createHash('sha256')
    .update(path.join(containerdAddress, namespace, group))
    .digest('hex');
  return path.join(dir, h);
}

export function socketAddress(p: string): string {
  return `unix://${p}`;
}

/** The sandbox a container belongs to: itself for a sandbox (or a plain `ctr run` container), else its sandbox id. */
export function groupOf(id: string, annotations: Record<string, string>): { group: string; isSandbox: boolean } {
  const type = CONTAINER_TYPE_ANNOTATIONS.map((k) => annotations[k]).find(Boolean);
  const sandboxId = SANDBOX_ID_ANNOTATIONS.map((k) => annotations[k]).find(Boolean);
  if (type === 'container' && sandboxId) return { group: sandboxId, isSandbox: false };
  return { group: id, isSandbox: true };
}
