import { readFileSync } from 'node:fs';
import { parse } from 'smol-toml';
import { describe, expect, it } from 'vitest';
import { FLAVOURS, loadConfigFile, shippedConfigPath } from '../../../src/config/index.js';
import type { RuntimeConfig } from '../../../src/config/index.js';
import { shipped } from './helpers.js';

const COCO = [
  'enable_iommu',
  'kernel_params',
  'kernel_verity_params',
  'default_vcpus',
  'default_memory',
  'cc_init_data',
];
const PLAIN = ['enable_iommu', 'kernel_params', 'kernel_verity_params'];
const KP = 'cgroup_no_v1=all systemd.unified_cgroup_hierarchy=1';
const KP_NV = 'cgroup_no_v1=all pci=realloc pci=nocrs pci=assign-busses';
const KP_CNV = `${KP_NV} nvrc.smi.srs=1`;
const SOCK = '/var/lib/kubelet/pod-resources/kubelet.sock';

/** Kata 4.1 values (reference §1.2–1.3), with /opt/kata → /opt/ccgpu (share/kata-containers → share/ccgpu). */
const TABLE: Record<string, Record<string, unknown>> = {
  'qemu-nvidia-gpu-snp': {
    path: '/opt/ccgpu/bin/qemu-system-x86_64-snp-experimental',
    validHypervisorPaths: ['/opt/ccgpu/bin/qemu-system-x86_64-snp-experimental'],
    kernel: '/opt/ccgpu/share/ccgpu/vmlinuz-nvidia-gpu.container',
    image: '/opt/ccgpu/share/ccgpu/kata-containers-nvidia-gpu-confidential.img',
    rootfsType: 'erofs',
    confidentialGuest: true,
    sevSnpGuest: true,
    snpIdBlock: '',
    snpIdAuth: '',
    snpGuestPolicy: 196608,
    enableAnnotations: COCO,
    kernelParams: KP_CNV,
    kernelVerityParams: '',
    firmware: '/opt/ccgpu/share/ovmf/AMDSEV.fd',
    defaultMemory: 8192,
    sharedFs: 'none',
    extraMonitorSocket: '',
    disableNestingChecks: false,
    disableImageNvdimm: true,
    hotPlugVfio: 'no-port',
    coldPlugVfio: 'root-port',
    pcieRootPort: 0,
    'agent.dialTimeout': 1200,
    'agent.launchProcessTimeout': 15,
    'agent.visibleCdiDevices': false,
    'runtime.sandboxCgroupOnly': true,
    'runtime.staticSandboxResourceMgmt': true,
    'runtime.emptydirMode': 'block-encrypted',
    'runtime.createContainerTimeout': 1200,
    'runtime.experimentalForceGuestPull': false,
    'runtime.podResourceApiSock': SOCK,
  },
  'qemu-nvidia-gpu-tdx': {
    path: '/opt/ccgpu/bin/qemu-system-x86_64-tdx-experimental',
    validHypervisorPaths: ['/opt/ccgpu/bin/qemu-system-x86_64-tdx-experimental'],
    kernel: '/opt/ccgpu/share/ccgpu/vmlinuz-nvidia-gpu.container',
    image: '/opt/ccgpu/share/ccgpu/kata-containers-nvidia-gpu-confidential.img',
    rootfsType: 'erofs',
    confidentialGuest: true,
    sevSnpGuest: false,
    snpGuestPolicy: undefined,
    tdxQuoteGenerationServiceSocketPort: 0,
    enableAnnotations: COCO,
    kernelParams: KP_CNV,
    firmware: '/opt/ccgpu/share/ovmf/OVMF.inteltdx.fd',
    defaultMemory: 8192,
    sharedFs: 'none',
    disableNestingChecks: false,
    disableImageNvdimm: true,
    hotPlugVfio: 'no-port',
    coldPlugVfio: 'root-port',
    pcieRootPort: 0,
    'agent.dialTimeout': 1200,
    'agent.launchProcessTimeout': 15,
    'agent.visibleCdiDevices': false,
    'runtime.sandboxCgroupOnly': true,
    'runtime.staticSandboxResourceMgmt': true,
    'runtime.emptydirMode': 'block-encrypted',
    'runtime.createContainerTimeout': 1200,
    'runtime.experimentalForceGuestPull': false,
    'runtime.podResourceApiSock': SOCK,
  },
  'qemu-nvidia-gpu': {
    path: '/opt/ccgpu/bin/qemu-system-x86_64',
    validHypervisorPaths: ['/opt/ccgpu/bin/qemu-system-x86_64'],
    kernel: '/opt/ccgpu/share/ccgpu/vmlinuz-nvidia-gpu.container',
    image: '/opt/ccgpu/share/ccgpu/kata-containers-nvidia-gpu.img',
    rootfsType: 'erofs',
    confidentialGuest: false,
    sevSnpGuest: false,
    enableAnnotations: PLAIN,
    kernelParams: KP_NV,
    firmware: '/opt/ccgpu/share/ovmf/OVMF.fd',
    defaultMemory: 8192,
    sharedFs: 'virtio-fs',
    extraMonitorSocket: '',
    disableNestingChecks: true,
    disableImageNvdimm: true,
    hotPlugVfio: 'no-port',
    coldPlugVfio: 'root-port',
    pcieRootPort: 8,
    'agent.dialTimeout': 1200,
    'agent.launchProcessTimeout': 15,
    'agent.visibleCdiDevices': false,
    'runtime.sandboxCgroupOnly': true,
    'runtime.staticSandboxResourceMgmt': true,
    'runtime.emptydirMode': 'shared-fs',
    'runtime.createContainerTimeout': 1200,
    'runtime.podResourceApiSock': SOCK,
  },
  'qemu-snp': {
    path: '/opt/ccgpu/bin/qemu-system-x86_64',
    kernel: '/opt/ccgpu/share/ccgpu/vmlinuz.container',
    image: '/opt/ccgpu/share/ccgpu/kata-containers-confidential.img',
    rootfsType: 'ext4',
    confidentialGuest: true,
    sevSnpGuest: true,
    snpIdBlock: '',
    snpIdAuth: '',
    snpGuestPolicy: 196608,
    enableAnnotations: COCO,
    kernelParams: KP,
    firmware: '/opt/ccgpu/share/ovmf/AMDSEV.fd',
    defaultMemory: 2048,
    sharedFs: 'none',
    disableNestingChecks: true,
    disableImageNvdimm: true,
    hotPlugVfio: 'no-port',
    coldPlugVfio: 'no-port',
    pcieRootPort: 0,
    'agent.dialTimeout': 90,
    'agent.launchProcessTimeout': 6,
    'runtime.sandboxCgroupOnly': false,
    'runtime.staticSandboxResourceMgmt': true,
    'runtime.emptydirMode': 'block-encrypted',
    'runtime.createContainerTimeout': 60,
    'runtime.experimentalForceGuestPull': false,
    'runtime.podResourceApiSock': '',
  },
  'qemu-tdx': {
    path: '/opt/ccgpu/bin/qemu-system-x86_64',
    kernel: '/opt/ccgpu/share/ccgpu/vmlinuz.container',
    image: '/opt/ccgpu/share/ccgpu/kata-containers-confidential.img',
    rootfsType: 'ext4',
    confidentialGuest: true,
    sevSnpGuest: false,
    tdxQuoteGenerationServiceSocketPort: 0,
    enableAnnotations: COCO,
    kernelParams: KP,
    firmware: '/opt/ccgpu/share/ovmf/OVMF.inteltdx.fd',
    defaultMemory: 2048,
    sharedFs: 'none',
    disableNestingChecks: false,
    disableImageNvdimm: true,
    hotPlugVfio: 'no-port',
    coldPlugVfio: 'no-port',
    pcieRootPort: 0,
    'agent.dialTimeout': 60,
    'agent.launchProcessTimeout': 6,
    'runtime.sandboxCgroupOnly': false,
    'runtime.staticSandboxResourceMgmt': true,
    'runtime.emptydirMode': 'block-encrypted',
    'runtime.createContainerTimeout': 60,
    'runtime.experimentalForceGuestPull': false,
    'runtime.podResourceApiSock': '',
  },
};

/** Keys identical in all Kata flavour files (reference §1.3). */
const COMMON: Record<string, unknown> = {
  machineType: 'q35',
  memorySlots: 10,
  defaultMaxvcpus: 0,
  defaultBridges: 1,
  defaultMaxmemory: 0,
  defaultVcpus: 1,
  disableBlockDeviceUse: true,
  blockDeviceDriver: 'virtio-scsi',
  blockDeviceAio: 'io_uring',
  enableIommu: false,
  enableIommuPlatform: false,
  enableHugepages: false,
  enableMemPrealloc: false,
  enableDebug: false,
  entropySource: '/dev/urandom',
  useLegacySerial: false,
  cpuFeatures: 'pmu=off',
  firmwareVolume: '',
  enableVirtioMem: false,
  enableNuma: false,
  pcieSwitchPort: 0,
  kernelModules: [],
  'runtime.internetworkingModel': 'tcfilter',
  'runtime.disableGuestSeccomp': true,
  'runtime.disableGuestEmptyDir': true,
  'runtime.enableVcpusPinning': false,
  'runtime.enablePprof': false,
  'runtime.kubeletRootDir': '/var/lib/kubelet',
  'runtime.vfioMode': 'guest-kernel',
  'agent.kernelModules': [],
  'agent.debugConsoleEnabled': false,
  'agent.agentTransport': 'vsock',
};

function get(cfg: RuntimeConfig, k: string): unknown {
  if (k.startsWith('agent.')) return (cfg.agent as unknown as Record<string, unknown>)[k.slice(6)];
  if (k.startsWith('runtime.')) return (cfg.runtime as unknown as Record<string, unknown>)[k.slice(8)];
  return (cfg.hypervisor as unknown as Record<string, unknown>)[k];
}

describe('shipped flavour configurations', () => {
  it('ships one file per flavour and the default resolves to qemu-nvidia-gpu-snp', () => {
    expect(FLAVOURS).toHaveLength(6);
    expect(shippedConfigPath()).toBe(shipped('qemu-nvidia-gpu-snp'));
  });

  for (const flavour of FLAVOURS) {
    it(`${flavour} loads without warnings`, () => {
      const loaded = loadConfigFile(shipped(flavour), { noDropIns: true });
      expect(loaded.warnings).toEqual([]);
      expect(loaded.dropIns).toEqual([]);
    });
  }

  for (const [flavour, expected] of Object.entries(TABLE)) {
    it(`${flavour} has Kata 4.1's values for every §1.3 key`, () => {
      const { config } = loadConfigFile(shipped(flavour), { noDropIns: true });
      for (const [k, v] of Object.entries({ ...COMMON, ...expected })) {
        expect(get(config, k), `${flavour} ${k}`).toEqual(v);
      }
      // Keys ccgpu accepts for compatibility only are still written with Kata's values.
      const raw = parse(readFileSync(shipped(flavour), 'utf8')) as { hypervisor: { qemu: Record<string, unknown> } };
      expect(raw.hypervisor.qemu.rootless).toBe(false);
      expect(raw.hypervisor.qemu.msize_9p).toBe(8192);
      // extra_monitor_socket is absent from every TEE template.
      expect('extra_monitor_socket' in raw.hypervisor.qemu).toBe(!config.hypervisor.confidentialGuest);
    });
  }

  it('qemu-coco-dev is not confidential, has no VFIO and keeps the vsock transport', () => {
    const { config } = loadConfigFile(shipped('qemu-coco-dev'), { noDropIns: true });
    expect(config.hypervisor.confidentialGuest).toBe(false);
    expect(config.hypervisor.coldPlugVfio).toBe('no-port');
    expect(config.hypervisor.hotPlugVfio).toBe('no-port');
    expect(config.agent.agentTransport).toBe('vsock');
    expect(config.hypervisor.enableAnnotations).toEqual(COCO);
  });
});
