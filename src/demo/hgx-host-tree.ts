/**
 * A fake NVIDIA HGX H100 host (8 GPUs behind PCIe switches, 4 NVSwitches, all bound to vfio-pci, IOMMUFD cdevs, SEV-SNP
 * on) written as a sysfs/devfs tree under a directory (the model in fake-host-model.ts, which the tests use too), so
 * the real CDI generator and QEMU command-line builder can run on a machine without GPUs.
 */
import type { HostDeviceInfo, StatDevice } from '../../cdi/index.js';
import { H100_NVSWITCH, H100_SXM5, hgxH100, writeHostTree } from './fake-host-model.js';

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

/** Writes the HGX H100 host under `root` (which should be empty). */
export function writeHgxHost(root: string): HgxHost {
  const model = hgxH100({ snp: true });
  const nodes = new Map<string, HostDeviceInfo>(
    writeHostTree(root, model).map((n) => [
      n.path.startsWith(root) ? n.path.slice(root.length) : n.path,
      { type: n.type, major: n.major, minor: n.minor, fileMode: 0o666 },
    ]),
  );
  return {
    root,
    gpus: model.functions.filter((f) => f.class === H100_SXM5.class).map((f) => f.bdf),
    nvswitches: model.functions.filter((f) => f.class === H100_NVSWITCH.class).map((f) => f.bdf),
    memoryMiB: 2 * 1024 * 1024,
    statDevice: (hostPath) => {
      const info = nodes.get(hostPath);
      if (!info) throw new Error(`ENOENT: no such device node in the fake HGX host: ${hostPath}`);
      return info;
    },
  };
}
