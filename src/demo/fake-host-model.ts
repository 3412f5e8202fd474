/**
 * Fake sysfs/devfs trees that behave like a real GPU host, for the demo and for tests of CDI generation, VFIO
 * resolution and the QEMU command line. Only hardware that cannot exist here is faked; the production code reads these trees through the same
 * paths it reads on a real host (`<root>/sys/...`, `<root>/dev/...`).
 *
 * Layout written under `root` (mirrors Linux):
 *   sys/devices/pci0000:RR/<bridge chain>/<bdf>/{vendor,device,class,numa_node,config,uevent}
 *   sys/devices/.../<bdf>/driver            -> ../../../bus/pci/drivers/<driver>   (symlink, relative)
 *   sys/devices/.../<bdf>/iommu_group       -> ../../../kernel/iommu_groups/<g>
 *   sys/devices/.../<bdf>/vfio-dev/vfioN/{dev,uevent}          (iommufd cdev)
 *   sys/bus/pci/devices/<bdf>               -> ../../../devices/pci0000:RR/.../<bdf>
 *   sys/bus/pci/drivers/<driver>/
 *   sys/kernel/iommu_groups/<g>/devices/<bdf> -> ../../../../devices/.../<bdf>
 *   sys/dev/char/<maj>:<min>                -> ../../devices/.../<bdf>/vfio-dev/vfioN   (iommufd)
 *   sys/dev/char/<maj>:<min>                -> ../../devices/virtual/vfio/<g>          (legacy group, with uevent)
 *   sys/module/kvm_amd/parameters/sev_snp, sys/module/kvm_intel/parameters/tdx (optional)
 *   dev/vfio/vfio, dev/vfio/<g>, dev/vfio/devices/vfioN, dev/iommu   (regular files standing in for device nodes;
 *   their major/minor live in `nodes.json` and in the sysfs `dev`/`uevent` files)
 */
import fs from 'node:fs';
import path from 'node:path';

export const VFIO_CDEV_MAJOR = 509;
export const VFIO_GROUP_MAJOR = 243;
export const VFIO_CONTAINER = { major: 10, minor: 196 };
export const IOMMU_DEV = { major: 10, minor: 123 };

export interface FakePciFunction {
  bdf: string;
  vendor: string; // "0x10de"
  device: string; // "0x2330"
  class: string; // "0x030200"
  numaNode: number;
  driver?: string; // "vfio-pci", "nvidia", "pcieport"
  iommuGroup: number;
  /** iommufd cdev index N of /dev/vfio/devices/vfioN (only when bound to vfio-pci on an iommufd host). */
  vfioCdev?: number;
  /** Bridge BDFs from the root complex down to (not including) this function. */
  upstream: string[];
  /** Size of the config file: 4096 for PCIe, 256 for conventional PCI. */
  configSize?: number;
}

export interface HostModel {
  functions: FakePciFunction[];
  iommufd: boolean;
  snp?: boolean;
  tdx?: boolean;
}

export interface FakeNode {
  path: string; // absolute path as seen by the code under test, i.e. under root
  type: 'c';
  major: number;
  minor: number;
}

function write(file: string, content: string | Buffer): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, content);
}

function symlink(target: string, link: string): void {
  fs.mkdirSync(path.dirname(link), { recursive: true });
  fs.symlinkSync(target, link);
}

/** Path of a function's directory relative to `sys/devices`. */
function deviceRelPath(fn: FakePciFunction): string {
  const rootBus = `pci${fn.bdf.slice(0, 7)}`.replace(/:$/, '');
  const domainBus = fn.upstream.length > 0 ? fn.upstream[0]!.slice(0, 7) : fn.bdf.slice(0, 7);
  return path.join(`pci${domainBus}`.replace(/:$/, '') || rootBus, ...fn.upstream, fn.bdf);
}

/** Writes the tree for `model` under `root` and returns the fake device nodes with their numbers. */
export function writeHostTree(root: string, model: HostModel): FakeNode[] {
  const sys = path.join(root, 'sys');
  const nodes: FakeNode[] = [];
  const groups = new Set<number>();
  const bridgesWritten = new Set<string>();

  const writeFunction = (fn: FakePciFunction): void => {
    const rel = deviceRelPath(fn);
    const dir = path.join(sys, 'devices', rel);
    write(path.join(dir, 'vendor'), `${fn.vendor}\n`);
    write(path.join(dir, 'device'), `${fn.device}\n`);
    write(path.join(dir, 'class'), `${fn.class}\n`);
    write(path.join(dir, 'numa_node'), `${fn.numaNode}\n`);
    write(path.join(dir, 'config'), Buffer.alloc(fn.configSize ?? 4096));
    write(path.join(dir, 'uevent'), `DRIVER=${fn.driver ?? ''}\nPCI_SLOT_NAME=${fn.bdf}\n`);
    const depth = rel.split('/').length; // from sys/devices
    const up = (n: number): string => '../'.repeat(n);
    if (fn.driver) {
      fs.mkdirSync(path.join(sys, 'bus/pci/drivers', fn.driver), { recursive: true });
      symlink(`${up(depth + 1)}bus/pci/drivers/${fn.driver}`, path.join(dir, 'driver'));
    }
    symlink(`${up(depth + 1)}kernel/iommu_groups/${fn.iommuGroup}`, path.join(dir, 'iommu_group'));
    symlink(`../../../devices/${rel}`, path.join(sys, 'bus/pci/devices', fn.bdf));
    symlink(
      `../../../../devices/${rel}`,
      path.join(sys, 'kernel/iommu_groups', String(fn.iommuGroup), 'devices', fn.bdf),
    );
    groups.add(fn.iommuGroup);
    if (fn.vfioCdev !== undefined && fn.driver === 'vfio-pci' && model.iommufd) {
      const n = fn.vfioCdev;
      const vdir = path.join(dir, 'vfio-dev', `vfio${n}`);
      write(path.join(vdir, 'dev'), `${VFIO_CDEV_MAJOR}:${n}\n`);
      write(path.join(vdir, 'uevent'), `MAJOR=${VFIO_CDEV_MAJOR}\nMINOR=${n}\nDEVNAME=vfio/devices/vfio${n}\n`);
      symlink(`../../devices/${rel}/vfio-dev/vfio${n}`, path.join(sys, 'dev/char', `${VFIO_CDEV_MAJOR}:${n}`));
      const nodePath = path.join(root, 'dev/vfio/devices', `vfio${n}`);
      write(nodePath, '');
      nodes.push({ path: nodePath, type: 'c', major: VFIO_CDEV_MAJOR, minor: n });
    }
  };

  for (const fn of model.functions) {
    // bridges on the way down are real functions too (class 0x060400, driver pcieport)
    fn.upstream.forEach((b, i) => {
      if (bridgesWritten.has(b) || model.functions.some((f) => f.bdf === b)) return;
      bridgesWritten.add(b);
      writeFunction({
        bdf: b,
        vendor: '0x1000',
        device: '0xc030',
        class: '0x060400',
        numaNode: fn.numaNode,
        driver: 'pcieport',
        iommuGroup: 1000 + bridgesWritten.size,
        upstream: fn.upstream.slice(0, i),
      });
    });
    writeFunction(fn);
  }

  // legacy VFIO group nodes for every group that has a vfio-pci function
  for (const g of [...groups].sort((a, b) => a - b)) {
    const bound = model.functions.some((f) => f.iommuGroup === g && f.driver === 'vfio-pci');
    if (!bound) continue;
    const nodePath = path.join(root, 'dev/vfio', String(g));
    write(nodePath, '');
    const vdir = path.join(sys, 'devices/virtual/vfio', String(g));
    write(path.join(vdir, 'dev'), `${VFIO_GROUP_MAJOR}:${g}\n`);
    write(path.join(vdir, 'uevent'), `MAJOR=${VFIO_GROUP_MAJOR}\nMINOR=${g}\nDEVNAME=vfio/${g}\n`);
    symlink(`../../devices/virtual/vfio/${g}`, path.join(sys, 'dev/char', `${VFIO_GROUP_MAJOR}:${g}`));
    nodes.push({ path: nodePath, type: 'c', major: VFIO_GROUP_MAJOR, minor: g });
  }
  write(path.join(root, 'dev/vfio/vfio'), '');
  nodes.push({ path: path.join(root, 'dev/vfio/vfio'), type: 'c', ...VFIO_CONTAINER });
  if (model.iommufd) {
    write(path.join(root, 'dev/iommu'), '');
    nodes.push({ path: path.join(root, 'dev/iommu'), type: 'c', ...IOMMU_DEV });
  }
  if (model.snp !== undefined) write(path.join(sys, 'module/kvm_amd/parameters/sev_snp'), model.snp ? 'Y\n' : 'N\n');
  if (model.tdx !== undefined) write(path.join(sys, 'module/kvm_intel/parameters/tdx'), model.tdx ? 'Y\n' : 'N\n');
  write(path.join(root, 'nodes.json'), JSON.stringify(nodes, null, 2));
  return nodes;
}

export const H100_SXM5 = { vendor: '0x10de', device: '0x2330', class: '0x030200' }; // GH100 [H100 SXM5 80GB]
export const H100_NVSWITCH = { vendor: '0x10de', device: '0x22a3', class: '0x068000' }; // GH100 [H100 NVSwitch]

/**
 * An HGX H100 8-GPU host: 8 GPUs behind PCIe switches (4 per NUMA node), 4 NVSwitches on NUMA 0, all bound to
 * vfio-pci. With `iommufd` (default) each GPU/NVSwitch has a /dev/vfio/devices/vfioN cdev (GPUs vfio0-7, NVSwitches
 * vfio8-11). With `bridgesInGroups`, each GPU's IOMMU group also holds its downstream bridge (no ACS), as on hosts where
 * legacy groups contain a PCI-PCI bridge.
 */
export function hgxH100(
  opts: { iommufd?: boolean; bridgesInGroups?: boolean; snp?: boolean; tdx?: boolean } = {},
): HostModel {
  const iommufd = opts.iommufd ?? true;
  const gpuBuses = ['18', '2a', '3a', '5d', '9a', 'ab', 'ba', 'db'];
  const functions: FakePciFunction[] = [];
  gpuBuses.forEach((bus, i) => {
    const b = parseInt(bus, 16);
    const hex = (n: number): string => n.toString(16).padStart(2, '0');
    const rootPort = `0000:${hex(b - 3)}:01.0`;
    const up = `0000:${hex(b - 2)}:00.0`;
    const down = `0000:${hex(b - 1)}:00.0`;
    const group = 20 + i * 2;
    functions.push({
      bdf: `0000:${bus}:00.0`,
      ...H100_SXM5,
      numaNode: i < 4 ? 0 : 1,
      driver: 'vfio-pci',
      iommuGroup: group,
      vfioCdev: i,
      upstream: [rootPort, up, down],
    });
    if (opts.bridgesInGroups) {
      functions.push({
        bdf: down,
        vendor: '0x1000',
        device: '0xc030',
        class: '0x060400',
        numaNode: i < 4 ? 0 : 1,
        driver: 'pcieport',
        iommuGroup: group,
        upstream: [rootPort, up],
      });
    }
  });
  ['05', '06', '07', '08'].forEach((bus, i) => {
    functions.push({
      bdf: `0000:${bus}:00.0`,
      ...H100_NVSWITCH,
      numaNode: 0,
      driver: 'vfio-pci',
      iommuGroup: 10 + i,
      vfioCdev: 8 + i,
      upstream: ['0000:04:01.0'],
    });
  });
  return { functions, iommufd, snp: opts.snp, tdx: opts.tdx };
}
