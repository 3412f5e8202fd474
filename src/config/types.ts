/**
 * The typed, validated runtime configuration: built once per sandbox (TOML + config.d drop-ins + allowed pod
 * annotations) and passed down. Nobody re-reads TOML or annotations later.
 *
 * Field names follow Kata's TOML keys in camelCase; `tomlKey` tables in the loader map them.
 */

export type VfioPort = 'no-port' | 'root-port' | 'switch-port' | 'bridge-port';
export type ExtraMonitorSocket = '' | 'hmp' | 'qmp' | 'qmp-pretty';
export type VfioMode = 'guest-kernel' | 'vfio';
/** How the host reaches the agent: vsock in production, a virtio-serial port (unix socket on the host) in tests. */
export type AgentTransport = 'vsock' | 'virtio-serial';
export type Flavour =
  'qemu-nvidia-gpu-snp' | 'qemu-nvidia-gpu-tdx' | 'qemu-nvidia-gpu' | 'qemu-snp' | 'qemu-tdx' | 'qemu-coco-dev';

export interface QemuConfig {
  path: string;
  validHypervisorPaths: string[];
  kernel: string;
  /** Initrd image (used when `image` is empty; the ccgpu dev/test guest). */
  initrd: string;
  image: string;
  rootfsType: string;
  machineType: string;
  machineAccelerators: string;
  confidentialGuest: boolean;
  sevSnpGuest: boolean;
  snpIdBlock: string;
  snpIdAuth: string;
  /** `undefined` when the key is absent from the TOML: then no `policy=` is emitted. */
  snpGuestPolicy?: number;
  /** cbitpos override (ccgpu extension); otherwise read from CPUID, or 51 in dry runs. */
  snpCbitpos?: number;
  tdxQuoteGenerationServiceSocketPort: number;
  enableAnnotations: string[];
  kernelParams: string;
  kernelVerityParams: string;
  firmware: string;
  firmwareVolume: string;
  cpuFeatures: string;
  defaultVcpus: number;
  defaultMaxvcpus: number;
  defaultMemory: number;
  defaultMaxmemory: number;
  memorySlots: number;
  defaultBridges: number;
  enableVirtioMem: boolean;
  sharedFs: string;
  enableNuma: boolean;
  extraMonitorSocket: ExtraMonitorSocket;
  /** ccgpu: permits `extra_monitor_socket` on a confidential guest (debug only; the instance is untrusted). */
  allowDebugMonitorOnConfidentialGuest: boolean;
  disableNestingChecks: boolean;
  disableImageNvdimm: boolean;
  hotPlugVfio: VfioPort;
  coldPlugVfio: VfioPort;
  pcieRootPort: number;
  pcieSwitchPort: number;
  blockDeviceDriver: string;
  blockDeviceAio: string;
  disableBlockDeviceUse: boolean;
  enableIommu: boolean;
  enableIommuPlatform: boolean;
  enableHugepages: boolean;
  enableMemPrealloc: boolean;
  enableDebug: boolean;
  entropySource: string;
  useLegacySerial: boolean;
  disableGuestSeccomp: boolean;
  disableGuestSelinux: boolean;
  kernelModules: string[];
  /** Other allow-lists for path-valued annotations. */
  validFileBackedMemPaths: string[];
  validEntropySources: string[];
  validVirtioFsDaemonPaths: string[];
  validJailerPaths: string[];
  /** ccgpu: acceleration. `kvm` in production; `tcg` only for tests on hosts without KVM. */
  accel: 'kvm' | 'tcg';
  /**
   * ccgpu: allow-lists (globs) for the asset annotations `kernel`, `image`, `initrd`, `firmware`/`firmware_volume`.
   * Kata gates these only through `enable_annotations`; ccgpu also requires the path to be listed. Default: empty
   * (every such annotation is refused). Always set by the loader.
   */
  validKernelPaths?: string[];
  validImagePaths?: string[];
  validInitrdPaths?: string[];
  validFirmwarePaths?: string[];
  /** Kata `virtio_fs_daemon`: the virtiofsd binary (used only when `shared_fs = "virtio-fs"`). Always set by the loader. */
  virtioFsDaemon?: string;
  /**
   * The `io.katacontainers.config.hypervisor.cc_init_data` annotation value (base64 of gzipped TOML), structurally
   * checked by `applyAnnotations`; decoded and measured by `attestation/initdata`. Undefined when the pod has none.
   */
  ccInitData?: string;
}

export interface AgentConfig {
  dialTimeout: number;
  launchProcessTimeout: number;
  visibleCdiDevices: boolean;
  cdhApiTimeout: number;
  enableDebug: boolean;
  debugConsoleEnabled: boolean;
  kernelModules: string[];
  /** ccgpu extension: `vsock` (production) or `virtio-serial` (test setups without vhost-vsock). */
  agentTransport: AgentTransport;
}

export interface RuntimeSection {
  enableDebug: boolean;
  internetworkingModel: string;
  disableGuestSeccomp: boolean;
  disableGuestEmptyDir: boolean;
  sandboxCgroupOnly: boolean;
  staticSandboxResourceMgmt: boolean;
  enableVcpusPinning: boolean;
  emptydirMode: string;
  createContainerTimeout: number;
  experimentalForceGuestPull: boolean;
  podResourceApiSock: string;
  vfioMode: VfioMode;
  kubeletRootDir: string;
  enablePprof: boolean;
  /** Directories of CDI specs (ccgpu extension; default /etc/cdi, /var/run/cdi). */
  cdiSpecDirs: string[];
}

export interface RuntimeConfig {
  hypervisor: QemuConfig;
  agent: AgentConfig;
  runtime: RuntimeSection;
}

/** Where a value came from, for `ccgpu config show`. */
export type ValueSource =
  | { kind: 'default' }
  | { kind: 'file'; file: string }
  | { kind: 'drop-in'; file: string }
  | { kind: 'annotation'; annotation: string };

/** A loaded configuration: the typed config, the files it came from, provenance per TOML key path, warnings. */
export interface LoadedConfig {
  config: RuntimeConfig;
  /** Base file path. */
  file: string;
  dropIns: string[];
  /** Keyed by TOML key path, e.g. `hypervisor.qemu.default_memory`. */
  sources: Map<string, ValueSource>;
  warnings: string[];
}
