/**
 * In-guest CDI annotations for NVIDIA GPUs (Kata's `annotateContainerWithVFIOMetadata`, guest-kernel mode):
 * `cdi.k8s.io/vfio<N>` = `nvidia.com/gpu=<index>`, where <index> is the GPU's position among the sandbox's
 * cold-plugged GPUs, root ports first, then switch ports.
 *
 * Kata sorts by bus *name* (so `rp10` < `rp2`); QEMU assigns slots in port order, and the guest enumerates GPUs in
 * slot order, so ccgpu sorts by port number: index i is the i-th GPU the guest sees. NVSwitches get no annotation.
 */
import path from 'node:path';
import { isNvidiaGpu } from './pci-function.js';
import type { PlacedVfioFunction } from './pcie-topology.js';

export const GUEST_GPU_CDI_KIND = 'nvidia.com/gpu';

/** GPUs in guest index order. */
export function orderedGuestGpus(devices: readonly PlacedVfioFunction[]): PlacedVfioFunction[] {
  const rank = { 'root-port': 0, 'switch-port': 1, none: 2 } as const;
  return devices
    .filter((d) => d.portType !== 'none' && isNvidiaGpu(d.fn))
    .sort((a, b) => rank[a.portType] - rank[b.portType] || a.portIndex - b.portIndex);
}

/**
 * Annotations for one workload container holding `containerNodes` (host VFIO node paths). Keys use the trailing number
 * of the node name (`vfio3` → `vfio3`, group `66` → `vfio66`).
 */
export function guestCdiAnnotations(
  devices: readonly PlacedVfioFunction[],
  containerNodes: readonly string[],
): Record<string, string> {
  const gpus = orderedGuestGpus(devices);
  const out: Record<string, string> = {};
  for (const nodePath of containerNodes) {
    const num = /(\d+)$/.exec(path.basename(nodePath))?.[1];
    if (num === undefined) continue;
    const gpuIndex = gpus.findIndex((g) => g.node.hostPath === nodePath);
    if (gpuIndex < 0) continue;
    out[`cdi.k8s.io/vfio${num}`] = `${GUEST_GPU_CDI_KIND}=${gpuIndex}`;
  }
  return out;
}
