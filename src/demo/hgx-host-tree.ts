/**
 * A fake NVIDIA HGX H100 host (8 GPUs behind PCIe switches, 4 NVSwitches, all bound to vfio-pci, IOMMUFD cdevs, SEV-SNP
 * on) written as a sysfs/devfs tree under a directory, so the real CDI generator and QEMU command-line builder can run
 * on a machine without GPUs. Same layout as Linux (and as test/fixtures/sysfs/host-model.ts, which tests use):
 *   sys/devices/pci0000:RR/<bridges>/<bdf>/{vendor,device,class,numa_node,config,uevent,driver,iommu_group,vfio-dev/}
 *   sys/bus/pci/devices/<bdf>, sys/bus/pci/drivers/<driver>/, sys/kernel/iommu_groups/<g>/devices/<bdf>,
 *   sys/dev/char/<maj>:<min>, sys/module/kvm_amd/parameters/sev_snp,
 *   dev/vfio/vfio, dev/vfio/<g>, dev/vfio/devices/vfioN, dev/iommu (regular files standing in for device nodes).
 */
import fs from 'node:fs';
import path from 'node:path';
import type { HostDeviceInfo, StatDevice } from '../../cdi/index.js';

const VFIO_CDEV_MAJOR = 509;
const VFIO_GROUP_MAJOR = 243;

interface PciFunction {
  bdf: string;
  vendor: string;
  device: string;
  class: string;
  numaNode: number;
  driver: string;
  iommuGroup: number;
  vfioCdev?: number;
  /** Bridges from the root complex down to (not including) this function. */
  upstream: string[];
}

const GPU = { vendor: '0x10de', device: '0x2330', class: '0x030200' }; // GH100 [H100 SXM5 80GB]
const NVSWITCH = { vendor: '0x10de', device: '0x22a3', class: '0x068000' }; // GH100 [H100 NVSwitch]

export interface HgxHost {
  root: string;
  gpus: string[];
  nvswitches: string[];
  /** Memory of the modelled host (2 TiB), for guest sizing. */
  memoryMiB: number;
  /**
   * Device-node lookup for CDI injection: the fake nodes are regular files, so their numbers come from the model.
   * Takes the host path a CDI spec names (`/dev/vfio/devices/vfio0`).
   */
  statDevice: StatDevice;
}

function write(file: string, content: string | Buffer): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, content);
}

function symlink(target: string, link: string): void {
  fs.mkdirSync(path.dirname(link), { recursive: true });
  fs.symlinkSync(target, link);
}

function hgxFunctions(): PciFunction[] {
  const hex = (n: number): string => n.toString(16).padStart(2, '0');
  const out: PciFunction[] = [];
  ['18', '2a', '3a', '5d', '9a', 'ab', 'ba', 'db'].forEach((bus, i) => {
    const b = parseInt(bus, 16);
    out.push({
      bdf: `0000:${bus}:00.0`,
      ...GPU,
      numaNode: i < 4 ? 0 : 1,
      driver: 'vfio-pci',
      iommuGroup: 20 + i * 2,
      vfioCdev: i,
      upstream: [`0000:${hex(b - 3)}:01.0`, `0000:${hex(b - 2)}:00.0`, `0000:${hex(b - 1)}:00.0`],
    });
  });
  ['05', '06', '07', '08'].forEach((bus, i) => {
    out.push({
      bdf: `0000:${bus}:00.0`,
      ...NVSWITCH,
      numaNode: 0,
      driver: 'vfio-pci',
      iommuGroup: 10 + i,
      vfioCdev: 8 + i,
      upstream: ['0000:04:01.0'],
    });
  });
  return out;
}

/** Writes the HGX H100 host under `root` (which should be empty). */
export function writeHgxHost(root: string): HgxHost {
  const sys = path.join(root, 'sys');
  const functions = hgxFunctions();
  const groups = new Set<number>();
  const bridges = new Set<string>();
  const nodes = new Map<string, HostDeviceInfo>();
  const node = (hostPath: string, major: number, minor: number): void => {
    write(path.join(root, hostPath), '');
    nodes.set(hostPath, { type: 'c', major, minor, fileMode: 0o666 });
  };

  const writeFunction = (fn: PciFunction): void => {
    const rel = path.join(`pci${(fn.upstream[0] ?? fn.bdf).slice(0, 7)}`, ...fn.upstream, fn.bdf);
    const dir = path.join(sys, 'devices', rel);
    write(path.join(dir, 'vendor'), `${fn.vendor}\n`);
    write(path.join(dir, 'device'), `${fn.device}\n`);
    write(path.join(dir, 'class'), `${fn.class}\n`);
    write(path.join(dir, 'numa_node'), `${fn.numaNode}\n`);
    write(path.join(dir, 'config'), Buffer.alloc(4096));
    write(path.join(dir, 'uevent'), `DRIVER=${fn.driver}\nPCI_SLOT_NAME=${fn.bdf}\n`);
    const up = '../'.repeat(rel.split('/').length + 1);
    fs.mkdirSync(path.join(sys, 'bus/pci/drivers', fn.driver), { recursive: true });
    symlink(`${up}bus/pci/drivers/${fn.driver}`, path.join(dir, 'driver'));
    symlink(`${up}kernel/iommu_groups/${fn.iommuGroup}`, path.join(dir, 'iommu_group'));
    symlink(`../../../devices/${rel}`, path.join(sys, 'bus/pci/devices', fn.bdf));
    symlink(
      `../../../../devices/${rel}`,
      path.join(sys, 'kernel/iommu_groups', String(fn.iommuGroup), 'devices', fn.bdf),
    );
    groups.add(fn.iommuGroup);
    if (fn.vfioCdev !== undefined) {
      const n = fn.vfioCdev;
      const vdir = path.join(dir, 'vfio-dev', `vfio${n}`);
      write(path.join(vdir, 'dev'), `${VFIO_CDEV_MAJOR}:${n}\n`);
      write(path.join(vdir, 'uevent'), `MAJOR=${VFIO_CDEV_MAJOR}\nMINOR=${n}\nDEVNAME=vfio/devices/vfio${n}\n`);
      symlink(`../../devices/${rel}/vfio-dev/vfio${n}`, path.join(sys, 'dev/char', `${VFIO_CDEV_MAJOR}:${n}`));
      node(`/dev/vfio/devices/vfio${n}`, VFIO_CDEV_MAJOR, n);
    }
  };

  for (const fn of functions) {
    fn.upstream.forEach((b, i) => {
      if (bridges.has(b)) return;
      bridges.add(b);
      writeFunction({
        bdf: b,
        vendor: '0x1000',
        device: '0xc030',
        class: '0x060400',
        numaNode: fn.numaNode,
        driver: 'pcieport',
        iommuGroup: 1000 + bridges.size,
        upstream: fn.upstream.slice(0, i),
      });
    });
    writeFunction(fn);
  }
  for (const g of [...groups].sort((a, b) => a - b)) {
    if (!functions.some((f) => f.iommuGroup === g)) continue;
    node(`/dev/vfio/${g}`, VFIO_GROUP_MAJOR, g);
    const vdir = path.join(sys, 'devices/virtual/vfio', String(g));
    write(path.join(vdir, 'dev'), `${VFIO_GROUP_MAJOR}:${g}\n`);
    write(path.join(vdir, 'uevent'), `MAJOR=${VFIO_GROUP_MAJOR}\nMINOR=${g}\nDEVNAME=vfio/${g}\n`);
    symlink(`../../devices/virtual/vfio/${g}`, path.join(sys, 'dev/char', `${VFIO_GROUP_MAJOR}:${g}`));
  }
  node('/dev/vfio/vfio', 10, 196);
  node('/dev/iommu', 10, 123);
  write(path.join(sys, 'module/kvm_amd/parameters/sev_snp'), 'Y\n');
  return {
    root,
    gpus: functions.filter((f) => f.class === GPU.class).map((f) => f.bdf),
    nvswitches: functions.filter((f) => f.class === NVSWITCH.class).map((f) => f.bdf),
    memoryMiB: 2 * 1024 * 1024,
    statDevice: (hostPath) => {
      const info = nodes.get(hostPath);
      if (!info) throw new Error(`ENOENT: no such device node in the fake HGX host: ${hostPath}`);
      return info;
    },
  };
}
