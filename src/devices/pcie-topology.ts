/**
 * PCIe ports for cold-plugged VFIO functions and the bus each function goes on, as Kata 4.1 builds them
 * (`createPCIeTopology` + VFIO `Attach`), with two deliberate differences:
 *  - every passthrough function of a device gets a port and a `-device` (Kata emits only a group's first function);
 *  - `bridge-port` is refused for cold plug with an explanation (Kata puts devices on a `bp<i>` bus it never creates).
 */
import { DeviceError } from '../errors/index.js';
import type { VfioPort } from '../config/types.js';
import type { VfioFunction, VfioNode } from './vfio-node.js';

export const MAX_PCIE_PORTS = 16;

export interface PciePort {
  /** QEMU `-device` driver. */
  driver: 'pcie-root-port' | 'x3130-upstream' | 'xio3130-downstream';
  id: string;
  bus: string;
  chassis?: number;
  slot?: number;
  multifunction?: boolean;
}

/** One `vfio-pci` device on the QEMU command line. */
export interface PlacedVfioFunction {
  node: VfioNode;
  fn: VfioFunction;
  /** QEMU device id, `vfio-<16 hex><index>`, at most 31 characters. */
  id: string;
  /** Port the function is plugged into (`rp0`, `swdp1`), or undefined for a conventional PCI function on pcie.0. */
  bus?: string;
  portType: 'root-port' | 'switch-port' | 'none';
  portIndex: number;
}

export interface PcieTopology {
  ports: PciePort[];
  devices: PlacedVfioFunction[];
}

export interface TopologyInput {
  nodes: VfioNode[];
  coldPlugVfio: VfioPort;
  hotPlugVfio: VfioPort;
  pcieRootPort: number;
  pcieSwitchPort: number;
  confidentialGuest: boolean;
  /** 16 hex digits naming this sandbox's devices (Kata: the device manager id). */
  deviceIdPrefix: string;
}

export function vfioDeviceId(prefix: string, index: number): string {
  return `vfio-${prefix}${index}`.slice(0, 31);
}

export function buildPcieTopology(input: TopologyInput): PcieTopology {
  const { nodes, coldPlugVfio, hotPlugVfio } = input;
  if (coldPlugVfio !== 'no-port' && hotPlugVfio !== 'no-port') {
    throw new DeviceError(
      `hot_plug_vfio ("${hotPlugVfio}") and cold_plug_vfio ("${coldPlugVfio}") cannot both be set; set one of them to "no-port"`,
    );
  }
  if (input.confidentialGuest) {
    const legacy = nodes.find((n) => n.kind !== 'iommufd');
    if (legacy) {
      throw new DeviceError(
        `ConfidentialGuest needs IOMMUFD - cannot use ${legacy.hostPath} (bind the device with iommufd and use /dev/vfio/devices/vfioN in the CDI spec)`,
        legacy.hostPath,
      );
    }
  }
  if (nodes.length > 0 && coldPlugVfio === 'no-port') {
    throw new DeviceError(
      `VFIO device ${nodes[0]!.hostPath} requested but cold_plug_vfio is "no-port"; set cold_plug_vfio = "root-port" or "switch-port"`,
      nodes[0]!.hostPath,
    );
  }
  if (coldPlugVfio === 'bridge-port' && nodes.length > 0) {
    throw new DeviceError(
      'cold_plug_vfio = "bridge-port" cannot cold-plug PCIe devices: PCI bridges have no PCIe ports for them (Kata would put them on a bus that is never created); use "root-port" or "switch-port"',
    );
  }

  const mode = coldPlugVfio !== 'no-port' ? coldPlugVfio : hotPlugVfio;
  const pcieCount = nodes.reduce((n, node) => n + node.functions.filter((f) => f.isPcie).length, 0);
  const ports: PciePort[] = [];
  let portType: PlacedVfioFunction['portType'] = 'none';
  let busPrefix = '';

  if (mode === 'root-port') {
    const count = Math.max(pcieCount, input.pcieRootPort);
    if (count > MAX_PCIE_PORTS) {
      throw new DeviceError(
        `Number of PCIe Root Ports exceeed allowed max of ${MAX_PCIE_PORTS}: ${pcieCount} PCIe functions to cold-plug, pcie_root_port = ${input.pcieRootPort}`,
      );
    }
    for (let i = 0; i < count; i++) {
      ports.push({ driver: 'pcie-root-port', id: `rp${i}`, bus: 'pcie.0', chassis: 0, slot: i, multifunction: false });
    }
    portType = 'root-port';
    busPrefix = 'rp';
  } else if (mode === 'switch-port') {
    const count = Math.max(pcieCount, input.pcieSwitchPort);
    if (count > MAX_PCIE_PORTS) {
      throw new DeviceError(
        `Number of PCIe Switch Ports exceeed allowed max of ${MAX_PCIE_PORTS}: ${pcieCount} PCIe functions to cold-plug, pcie_switch_port = ${input.pcieSwitchPort}`,
      );
    }
    if (count > 0) {
      ports.push({ driver: 'pcie-root-port', id: 'swrp0', bus: 'pcie.0', chassis: 1, slot: 0, multifunction: false });
      ports.push({ driver: 'x3130-upstream', id: 'swup0', bus: 'swrp0' });
      for (let i = 0; i < count; i++) {
        ports.push({ driver: 'xio3130-downstream', id: `swdp${i}`, bus: 'swup0', chassis: 2, slot: i });
      }
    }
    portType = 'switch-port';
    busPrefix = 'swdp';
  }

  const devices: PlacedVfioFunction[] = [];
  let next = 0;
  for (const node of nodes) {
    for (const fn of node.functions) {
      const id = vfioDeviceId(input.deviceIdPrefix, fn.index);
      if (fn.isPcie && busPrefix) {
        devices.push({ node, fn, id, bus: `${busPrefix}${next}`, portType, portIndex: next });
        next++;
      } else {
        devices.push({ node, fn, id, portType: 'none', portIndex: -1 });
      }
    }
  }
  const ids = new Set<string>();
  for (const d of devices) {
    if (ids.has(d.id)) {
      throw new DeviceError(
        `two VFIO functions would get the QEMU id ${d.id} (${d.fn.bdf}); each device may appear only once`,
        d.fn.bdf,
      );
    }
    ids.add(d.id);
  }
  return { ports, devices };
}
