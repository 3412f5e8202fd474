import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  buildPcieTopology,
  guestCdiAnnotations,
  hostPathOfCharDevice,
  hostPathsFromRoot,
  isVfioDevicePath,
  resolveVfioNode,
  type VfioNode,
} from '../../../src/devices/index.js';
import {
  hgxH100,
  writeHostTree,
  VFIO_CDEV_MAJOR,
  VFIO_GROUP_MAJOR,
  type HostModel,
} from '../../fixtures/sysfs/host-model.js';

const roots: string[] = [];
function tree(model: HostModel): { root: string; host: ReturnType<typeof hostPathsFromRoot> } {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'ccgpu-sysfs-'));
  roots.push(root);
  writeHostTree(root, model);
  return { root, host: hostPathsFromRoot(root) };
}
afterAll(() => roots.forEach((r) => fs.rmSync(r, { recursive: true, force: true })));

const P = '0123456789abcdef';
const cdev = (n: number) => ({ hostPath: `/dev/vfio/devices/vfio${n}`, major: VFIO_CDEV_MAJOR, minor: n });

describe('VFIO node resolution (HGX H100 fixture)', () => {
  const { host } = tree(hgxH100({ bridgesInGroups: true }));

  it('maps an iommufd cdev to its GPU through /sys/dev/char', () => {
    const node = resolveVfioNode(host, cdev(0));
    expect(node.kind).toBe('iommufd');
    expect(node.name).toBe('vfio0');
    expect(node.functions).toHaveLength(1);
    expect(node.functions[0]).toMatchObject({
      bdf: '0000:18:00.0',
      vendor: '0x10de',
      device: '0x2330',
      class: '0x030200',
      numaNode: 0,
      isPcie: true,
      index: 0,
    });
  });

  it('maps NVSwitch cdevs (class 0x0680) and keeps them', () => {
    const node = resolveVfioNode(host, cdev(9));
    expect(node.functions[0]).toMatchObject({ bdf: '0000:06:00.0', class: '0x068000', index: 9 });
  });

  it('host path from the char device uevent DEVNAME, falling back to the container path', () => {
    expect(hostPathOfCharDevice(host, VFIO_CDEV_MAJOR, 3, '/dev/x')).toBe('/dev/vfio/devices/vfio3');
    expect(hostPathOfCharDevice(host, VFIO_GROUP_MAJOR, 20, '/dev/x')).toBe('/dev/vfio/20');
    expect(hostPathOfCharDevice(host, 1, 1, '/dev/null-ish')).toBe('/dev/null-ish');
  });

  it('legacy group: skips the PCI bridge but keeps its listing index', () => {
    const node = resolveVfioNode(host, { hostPath: '/dev/vfio/20', major: VFIO_GROUP_MAJOR, minor: 20 });
    expect(node.kind).toBe('group');
    expect(node.functions.map((f) => [f.bdf, f.index])).toEqual([['0000:18:00.0', 1]]);
  });

  it('missing sysfs entries name the device and the path', () => {
    expect(() => resolveVfioNode(host, cdev(42))).toThrow(
      /\/dev\/vfio\/devices\/vfio42 \(char 509:42\).*does not resolve/,
    );
    expect(() => resolveVfioNode(host, { hostPath: '/dev/vfio/999', major: 1, minor: 1 })).toThrow(
      /VFIO group \/dev\/vfio\/999: cannot list .*iommu_groups\/999\/devices/,
    );
  });

  it('recognises VFIO device paths but not the container node', () => {
    expect(isVfioDevicePath('/dev/vfio/devices/vfio1')).toBe(true);
    expect(isVfioDevicePath('/dev/vfio/66')).toBe(true);
    expect(isVfioDevicePath('/dev/vfio/vfio')).toBe(false);
    expect(isVfioDevicePath('/dev/nvidia0')).toBe(false);
  });
});

describe('multi-function legacy group', () => {
  it('emits every passthrough function (Kata emits only the first)', () => {
    const { host } = tree({
      iommufd: false,
      functions: [
        {
          bdf: '0000:40:01.0',
          vendor: '0x8086',
          device: '0x1234',
          class: '0x060400',
          numaNode: 0,
          driver: 'pcieport',
          iommuGroup: 66,
          upstream: [],
        },
        {
          bdf: '0000:41:00.0',
          vendor: '0x10de',
          device: '0x2331',
          class: '0x030200',
          numaNode: 0,
          driver: 'vfio-pci',
          iommuGroup: 66,
          upstream: ['0000:40:01.0'],
        },
        {
          bdf: '0000:41:00.1',
          vendor: '0x10de',
          device: '0x22a3',
          class: '0x040300',
          numaNode: 0,
          driver: 'vfio-pci',
          iommuGroup: 66,
          upstream: ['0000:40:01.0'],
        },
      ],
    });
    const node = resolveVfioNode(host, { hostPath: '/dev/vfio/66', major: VFIO_GROUP_MAJOR, minor: 66 });
    expect(node.functions.map((f) => [f.bdf, f.index])).toEqual([
      ['0000:41:00.0', 1],
      ['0000:41:00.1', 2],
    ]);
    const topo = buildPcieTopology({
      nodes: [node],
      coldPlugVfio: 'root-port',
      hotPlugVfio: 'no-port',
      pcieRootPort: 8,
      pcieSwitchPort: 0,
      confidentialGuest: false,
      deviceIdPrefix: P,
    });
    expect(topo.ports.map((p) => p.id)).toEqual(['rp0', 'rp1', 'rp2', 'rp3', 'rp4', 'rp5', 'rp6', 'rp7']);
    expect(topo.devices.map((d) => [d.fn.bdf, d.id, d.bus])).toEqual([
      ['0000:41:00.0', `vfio-${P}1`, 'rp0'],
      ['0000:41:00.1', `vfio-${P}2`, 'rp1'],
    ]);
  });

  it('a group holding only bridges is an error naming the group', () => {
    const { host } = tree({
      iommufd: false,
      functions: [
        {
          bdf: '0000:50:01.0',
          vendor: '0x8086',
          device: '0x1',
          class: '0x060000',
          numaNode: 0,
          driver: 'vfio-pci',
          iommuGroup: 7,
          upstream: [],
        },
      ],
    });
    expect(() => resolveVfioNode(host, { hostPath: '/dev/vfio/7', major: 1, minor: 7 })).toThrow(
      /IOMMU group 7 has no passthrough-capable devices/,
    );
  });
});

describe('PCIe topology', () => {
  const { host } = tree(hgxH100());
  const gpus = (n: number): VfioNode[] => Array.from({ length: n }, (_, i) => resolveVfioNode(host, cdev(i)));
  const base = {
    coldPlugVfio: 'root-port' as const,
    hotPlugVfio: 'no-port' as const,
    pcieRootPort: 0,
    pcieSwitchPort: 0,
    confidentialGuest: true,
    deviceIdPrefix: P,
  };

  it('root ports: count = max(devices, pcie_root_port), one device per port in order', () => {
    const all = [...gpus(8), ...[8, 9, 10, 11].map((n) => resolveVfioNode(host, cdev(n)))];
    const topo = buildPcieTopology({ ...base, nodes: all });
    expect(topo.ports).toHaveLength(12);
    expect(topo.ports[0]).toEqual({
      driver: 'pcie-root-port',
      id: 'rp0',
      bus: 'pcie.0',
      chassis: 0,
      slot: 0,
      multifunction: false,
    });
    expect(topo.devices.map((d) => d.bus)).toEqual(all.map((_, i) => `rp${i}`));
    expect(topo.devices[8]!.fn.class).toBe('0x068000');
    expect(topo.devices[8]!.id).toBe(`vfio-${P}8`);
    expect(buildPcieTopology({ ...base, nodes: gpus(1), pcieRootPort: 4 }).ports).toHaveLength(4);
  });

  it('more than 16 functions fails with the upstream text', () => {
    const nodes = gpus(8);
    const many = [...nodes, ...nodes, nodes[0]!].map((n, i) => ({
      ...n,
      functions: n.functions.map((f) => ({ ...f, index: i })),
    }));
    expect(() => buildPcieTopology({ ...base, nodes: many })).toThrow(
      /Number of PCIe Root Ports exceeed allowed max of 16: 17 PCIe functions/,
    );
  });

  it('switch ports: swrp0 / swup0 / swdp<i>', () => {
    const topo = buildPcieTopology({ ...base, coldPlugVfio: 'switch-port', nodes: gpus(2) });
    expect(topo.ports.map((p) => [p.driver, p.id, p.bus, p.chassis, p.slot])).toEqual([
      ['pcie-root-port', 'swrp0', 'pcie.0', 1, 0],
      ['x3130-upstream', 'swup0', 'swrp0', undefined, undefined],
      ['xio3130-downstream', 'swdp0', 'swup0', 2, 0],
      ['xio3130-downstream', 'swdp1', 'swup0', 2, 1],
    ]);
    expect(topo.devices.map((d) => d.bus)).toEqual(['swdp0', 'swdp1']);
  });

  it('bridge-port cold plug is refused with an explanation; both modes set is refused', () => {
    expect(() => buildPcieTopology({ ...base, coldPlugVfio: 'bridge-port', nodes: gpus(1) })).toThrow(
      /bridge-port.*cannot cold-plug PCIe devices/,
    );
    expect(() => buildPcieTopology({ ...base, hotPlugVfio: 'root-port', nodes: [] })).toThrow(/cannot both be set/);
  });

  it('no ports at all when nothing is cold-plugged and no ports are configured', () => {
    expect(buildPcieTopology({ ...base, coldPlugVfio: 'no-port', nodes: [] })).toEqual({ ports: [], devices: [] });
  });

  it('confidential guests need iommufd', () => {
    const legacy: VfioNode = { hostPath: '/dev/vfio/66', kind: 'group', name: '66', functions: gpus(1)[0]!.functions };
    expect(() => buildPcieTopology({ ...base, nodes: [legacy] })).toThrow(
      'ConfidentialGuest needs IOMMUFD - cannot use /dev/vfio/66',
    );
    expect(buildPcieTopology({ ...base, confidentialGuest: false, nodes: [legacy] }).devices).toHaveLength(1);
  });

  it('guest CDI annotations: GPUs only, numbered in port order (rp2 before rp10)', () => {
    const nodes = [
      ...gpus(8),
      resolveVfioNode(host, cdev(8)),
      ...gpus(3).map((n, i) => ({
        ...n,
        hostPath: `/dev/vfio/devices/vfio${20 + i}`,
        functions: n.functions.map((f) => ({ ...f, index: 20 + i })),
      })),
    ];
    const topo = buildPcieTopology({ ...base, nodes });
    const ann = guestCdiAnnotations(topo.devices, [
      '/dev/vfio/devices/vfio2',
      '/dev/vfio/devices/vfio8',
      '/dev/vfio/devices/vfio22',
    ]);
    // vfio22 sits on rp11; NVSwitch vfio8 on rp8 gets nothing
    expect(ann).toEqual({ 'cdi.k8s.io/vfio2': 'nvidia.com/gpu=2', 'cdi.k8s.io/vfio22': 'nvidia.com/gpu=10' });
  });
});
