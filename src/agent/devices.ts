/**
 * Devices of a CreateContainer request. A ccgpu host sends VFIO devices as `vfio-pci-gk` (the guest kernel drives
 * the GPU) or `vfio-pci` (passed on to the container as /dev/vfio nodes), each option `"<host BDF>=<guest PCI path>"`
 * (e.g. `0000:41:00.0=02/00`). This agent checks and records them; device node setup for a real GPU (nvidia driver
 * in the guest) is the guest image's job. Other device types are refused by name.
 */
import { CcgpuError, Code } from '../errors/index.js';
import type { Device } from '../protocols/index.js';

export interface VfioAssignment {
  id: string;
  type: 'vfio-pci-gk' | 'vfio-pci';
  hostBdf: string;
  guestPciPath: string;
}

const BDF = /^[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]$/i;
const PCI_PATH = /^[0-9a-f]{2}(\/[0-9a-f]{2})*$/i;

export function vfioAssignments(devices: readonly Device[]): VfioAssignment[] {
  const out: VfioAssignment[] = [];
  for (const d of devices) {
    if (d.type !== 'vfio-pci-gk' && d.type !== 'vfio-pci') {
      throw new CcgpuError(
        `device ${d.id || d.containerPath}: type "${d.type}" is not supported by the ccgpu agent (expected vfio-pci-gk or vfio-pci)`,
        {
          code: Code.Unimplemented,
          details: { field: 'devices.type' },
        },
      );
    }
    if (d.options.length === 0) {
      throw new CcgpuError(`device ${d.id}: a ${d.type} device needs options "<host BDF>=<guest PCI path>"`, {
        code: Code.InvalidArgument,
        details: { field: 'devices.options' },
      });
    }
    for (const o of d.options) {
      const [bdf = '', guest = ''] = o.split('=');
      if (!BDF.test(bdf) || !PCI_PATH.test(guest)) {
        throw new CcgpuError(
          `device ${d.id}: option "${o}" is not "<host BDF>=<guest PCI path>" (e.g. 0000:41:00.0=02/00)`,
          {
            code: Code.InvalidArgument,
            details: { field: 'devices.options' },
          },
        );
      }
      out.push({ id: d.id, type: d.type, hostBdf: bdf.toLowerCase(), guestPciPath: guest.toLowerCase() });
    }
  }
  return out;
}
