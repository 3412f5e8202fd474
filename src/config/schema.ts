/**
 * The TOML contract: every key ccgpu reads, its Kata name (snake_case), the `RuntimeConfig` field it fills, its type
 * and its default when absent. Also the Kata keys ccgpu accepts for compatibility but does not implement.
 *
 * Defaults are Kata's runtime defaults (what katautils uses when a key is absent), with paths under `/opt/ccgpu`.
 */
import type { AgentConfig, QemuConfig, RuntimeSection } from './types.js';

export type TableName = 'hypervisor.qemu' | 'agent.kata' | 'runtime';
export const TABLES: readonly TableName[] = ['hypervisor.qemu', 'agent.kata', 'runtime'];

export type ValueType =
  | { kind: 'string' }
  | { kind: 'bool' }
  | { kind: 'uint'; max?: number }
  | { kind: 'strings' }
  | { kind: 'enum'; values: readonly string[] };

export interface KeySpec<F extends string = string> {
  key: string;
  field: F;
  type: ValueType;
  /** Value when the key is absent; `undefined` only for `optional` keys. */
  default: unknown;
  /** Absent stays `undefined` (e.g. `snp_guest_policy`: no `policy=` is emitted). */
  optional?: boolean;
  /** A ccgpu extension (not a Kata key). */
  ccgpu?: boolean;
}

/** A Kata key ccgpu accepts but does not implement. */
export interface CompatKeySpec {
  key: string;
  /** Kata's default. A different value gives a warning (or an error when `onOther` is `error`). Absent: any value is fine. */
  kataDefault?: unknown;
  onOther?: 'warn' | 'error';
  why: string;
}

const U32 = 0xffff_ffff;
const str = { kind: 'string' } as const;
const bool = { kind: 'bool' } as const;
const uint = { kind: 'uint' } as const;
const strings = { kind: 'strings' } as const;
const oneOf = (...values: string[]): ValueType => ({ kind: 'enum', values });

export const VFIO_PORTS = ['no-port', 'root-port', 'switch-port', 'bridge-port'] as const;
export const EXTRA_MONITOR_SOCKETS = ['', 'hmp', 'qmp', 'qmp-pretty'] as const;
export const VFIO_MODES = ['guest-kernel', 'vfio'] as const;
/** Kata's limit for `pcie_root_port` / `pcie_switch_port` (values above are clamped). */
export const MAX_PCIE_PORTS = 16;
/** Kata's `MinHypervisorMemory` (MiB). */
export const MIN_MEMORY_MIB = 256;
/** Kata clamps `default_bridges` to 5. */
export const MAX_BRIDGES = 5;

type QemuField = Exclude<keyof QemuConfig, 'disableGuestSeccomp' | 'kernelModules' | 'ccInitData'>;

export const HYPERVISOR_KEYS: readonly KeySpec<QemuField>[] = [
  { key: 'path', field: 'path', type: str, default: '/opt/ccgpu/bin/qemu-system-x86_64' },
  { key: 'valid_hypervisor_paths', field: 'validHypervisorPaths', type: strings, default: [] },
  { key: 'kernel', field: 'kernel', type: str, default: '/opt/ccgpu/share/ccgpu/vmlinuz.container' },
  { key: 'initrd', field: 'initrd', type: str, default: '' },
  { key: 'image', field: 'image', type: str, default: '' },
  { key: 'rootfs_type', field: 'rootfsType', type: oneOf('ext4', 'xfs', 'erofs'), default: 'ext4' },
  { key: 'machine_type', field: 'machineType', type: oneOf('q35'), default: 'q35' },
  { key: 'machine_accelerators', field: 'machineAccelerators', type: str, default: '' },
  { key: 'confidential_guest', field: 'confidentialGuest', type: bool, default: false },
  { key: 'sev_snp_guest', field: 'sevSnpGuest', type: bool, default: false },
  { key: 'snp_id_block', field: 'snpIdBlock', type: str, default: '' },
  { key: 'snp_id_auth', field: 'snpIdAuth', type: str, default: '' },
  {
    key: 'snp_guest_policy',
    field: 'snpGuestPolicy',
    type: { kind: 'uint', max: U32 },
    default: undefined,
    optional: true,
  },
  {
    key: 'snp_cbitpos',
    field: 'snpCbitpos',
    type: { kind: 'uint', max: 63 },
    default: undefined,
    optional: true,
    ccgpu: true,
  },
  {
    key: 'tdx_quote_generation_service_socket_port',
    field: 'tdxQuoteGenerationServiceSocketPort',
    type: { kind: 'uint', max: 65535 },
    default: 0,
  },
  { key: 'enable_annotations', field: 'enableAnnotations', type: strings, default: [] },
  { key: 'kernel_params', field: 'kernelParams', type: str, default: '' },
  { key: 'kernel_verity_params', field: 'kernelVerityParams', type: str, default: '' },
  { key: 'firmware', field: 'firmware', type: str, default: '' },
  { key: 'firmware_volume', field: 'firmwareVolume', type: str, default: '' },
  { key: 'cpu_features', field: 'cpuFeatures', type: str, default: 'pmu=off' },
  { key: 'default_vcpus', field: 'defaultVcpus', type: { kind: 'uint', max: 1024 }, default: 1 },
  { key: 'default_maxvcpus', field: 'defaultMaxvcpus', type: { kind: 'uint', max: 1024 }, default: 0 },
  { key: 'default_memory', field: 'defaultMemory', type: { kind: 'uint', max: U32 }, default: 2048 },
  { key: 'default_maxmemory', field: 'defaultMaxmemory', type: { kind: 'uint', max: U32 }, default: 0 },
  { key: 'memory_slots', field: 'memorySlots', type: { kind: 'uint', max: 255 }, default: 10 },
  { key: 'default_bridges', field: 'defaultBridges', type: uint, default: 1 },
  { key: 'enable_virtio_mem', field: 'enableVirtioMem', type: bool, default: false },
  {
    key: 'shared_fs',
    field: 'sharedFs',
    type: oneOf('virtio-fs', 'virtio-9p', 'virtio-fs-nydus', 'none'),
    default: 'virtio-fs',
  },
  { key: 'virtio_fs_daemon', field: 'virtioFsDaemon', type: str, default: '/opt/ccgpu/libexec/virtiofsd' },
  { key: 'valid_virtio_fs_daemon_paths', field: 'validVirtioFsDaemonPaths', type: strings, default: [] },
  { key: 'enable_numa', field: 'enableNuma', type: bool, default: false },
  { key: 'extra_monitor_socket', field: 'extraMonitorSocket', type: oneOf(...EXTRA_MONITOR_SOCKETS), default: '' },
  {
    key: 'allow_debug_monitor_on_confidential_guest',
    field: 'allowDebugMonitorOnConfidentialGuest',
    type: bool,
    default: false,
    ccgpu: true,
  },
  { key: 'disable_nesting_checks', field: 'disableNestingChecks', type: bool, default: false },
  { key: 'disable_image_nvdimm', field: 'disableImageNvdimm', type: bool, default: false },
  { key: 'hot_plug_vfio', field: 'hotPlugVfio', type: oneOf(...VFIO_PORTS), default: 'no-port' },
  { key: 'cold_plug_vfio', field: 'coldPlugVfio', type: oneOf(...VFIO_PORTS), default: 'no-port' },
  { key: 'pcie_root_port', field: 'pcieRootPort', type: uint, default: 0 },
  { key: 'pcie_switch_port', field: 'pcieSwitchPort', type: uint, default: 0 },
  {
    key: 'block_device_driver',
    field: 'blockDeviceDriver',
    type: oneOf('virtio-scsi', 'virtio-blk', 'nvdimm', 'virtio-mmio', 'virtio-blk-ccw'),
    default: 'virtio-scsi',
  },
  {
    key: 'block_device_aio',
    field: 'blockDeviceAio',
    type: oneOf('threads', 'native', 'io_uring'),
    default: 'io_uring',
  },
  { key: 'disable_block_device_use', field: 'disableBlockDeviceUse', type: bool, default: false },
  { key: 'enable_iommu', field: 'enableIommu', type: bool, default: false },
  { key: 'enable_iommu_platform', field: 'enableIommuPlatform', type: bool, default: false },
  { key: 'enable_hugepages', field: 'enableHugepages', type: bool, default: false },
  { key: 'enable_mem_prealloc', field: 'enableMemPrealloc', type: bool, default: false },
  { key: 'enable_debug', field: 'enableDebug', type: bool, default: false },
  { key: 'entropy_source', field: 'entropySource', type: str, default: '/dev/urandom' },
  { key: 'valid_entropy_sources', field: 'validEntropySources', type: strings, default: [] },
  { key: 'valid_file_mem_backends', field: 'validFileBackedMemPaths', type: strings, default: [] },
  { key: 'valid_jailer_paths', field: 'validJailerPaths', type: strings, default: [] },
  { key: 'use_legacy_serial', field: 'useLegacySerial', type: bool, default: false },
  { key: 'disable_guest_selinux', field: 'disableGuestSelinux', type: bool, default: true },
  { key: 'accel', field: 'accel', type: oneOf('kvm', 'tcg'), default: 'kvm', ccgpu: true },
  { key: 'valid_kernel_paths', field: 'validKernelPaths', type: strings, default: [], ccgpu: true },
  { key: 'valid_image_paths', field: 'validImagePaths', type: strings, default: [], ccgpu: true },
  { key: 'valid_initrd_paths', field: 'validInitrdPaths', type: strings, default: [], ccgpu: true },
  { key: 'valid_firmware_paths', field: 'validFirmwarePaths', type: strings, default: [], ccgpu: true },
];

export const AGENT_KEYS: readonly KeySpec<keyof AgentConfig>[] = [
  { key: 'dial_timeout', field: 'dialTimeout', type: uint, default: 45 },
  { key: 'launch_process_timeout', field: 'launchProcessTimeout', type: uint, default: 6 },
  { key: 'visible_cdi_devices', field: 'visibleCdiDevices', type: bool, default: false },
  /** 0 = not passed to the guest (the agent keeps its own default). */
  { key: 'cdh_api_timeout', field: 'cdhApiTimeout', type: uint, default: 0 },
  { key: 'enable_debug', field: 'enableDebug', type: bool, default: false },
  { key: 'debug_console_enabled', field: 'debugConsoleEnabled', type: bool, default: false },
  { key: 'kernel_modules', field: 'kernelModules', type: strings, default: [] },
  {
    key: 'agent_transport',
    field: 'agentTransport',
    type: oneOf('vsock', 'virtio-serial'),
    default: 'vsock',
    ccgpu: true,
  },
];

export const RUNTIME_KEYS: readonly KeySpec<keyof RuntimeSection>[] = [
  { key: 'enable_debug', field: 'enableDebug', type: bool, default: false },
  {
    key: 'internetworking_model',
    field: 'internetworkingModel',
    type: oneOf('macvtap', 'tcfilter', 'none'),
    default: 'tcfilter',
  },
  { key: 'disable_guest_seccomp', field: 'disableGuestSeccomp', type: bool, default: true },
  { key: 'disable_guest_empty_dir', field: 'disableGuestEmptyDir', type: bool, default: false },
  { key: 'sandbox_cgroup_only', field: 'sandboxCgroupOnly', type: bool, default: false },
  { key: 'static_sandbox_resource_mgmt', field: 'staticSandboxResourceMgmt', type: bool, default: false },
  { key: 'enable_vcpus_pinning', field: 'enableVcpusPinning', type: bool, default: false },
  {
    key: 'emptydir_mode',
    field: 'emptydirMode',
    type: oneOf('shared-fs', 'block-encrypted', 'block-plain'),
    default: 'shared-fs',
  },
  { key: 'create_container_timeout', field: 'createContainerTimeout', type: uint, default: 60 },
  { key: 'experimental_force_guest_pull', field: 'experimentalForceGuestPull', type: bool, default: false },
  { key: 'pod_resource_api_sock', field: 'podResourceApiSock', type: str, default: '' },
  { key: 'vfio_mode', field: 'vfioMode', type: oneOf(...VFIO_MODES), default: 'guest-kernel' },
  { key: 'kubelet_root_dir', field: 'kubeletRootDir', type: str, default: '/var/lib/kubelet' },
  { key: 'enable_pprof', field: 'enablePprof', type: bool, default: false },
  { key: 'cdi_spec_dirs', field: 'cdiSpecDirs', type: strings, default: ['/etc/cdi', '/var/run/cdi'], ccgpu: true },
];

export const KEYS_BY_TABLE: Readonly<Record<TableName, readonly KeySpec[]>> = {
  'hypervisor.qemu': HYPERVISOR_KEYS,
  'agent.kata': AGENT_KEYS,
  runtime: RUNTIME_KEYS,
};

const NOT_IMPL = 'not implemented by ccgpu';
const VIRTIOFS = 'virtiofsd tuning; ccgpu passes no virtiofsd options';

/** Kata keys that load without a warning as long as they keep Kata's default (or any value, when no default is given). */
export const COMPAT_KEYS: Readonly<Record<TableName, readonly CompatKeySpec[]>> = {
  'hypervisor.qemu': [
    { key: 'rootless', kataDefault: false, onOther: 'error', why: 'rootless QEMU is not supported by ccgpu' },
    { key: 'msize_9p', why: '9p tuning; ccgpu does not use virtio-9p options' },
    { key: 'memory_offset', kataDefault: 0, why: NOT_IMPL },
    { key: 'seccompsandbox', kataDefault: '', why: NOT_IMPL },
    { key: 'virtio_fs_cache_size', why: VIRTIOFS },
    { key: 'virtio_fs_queue_size', why: VIRTIOFS },
    { key: 'virtio_fs_extra_args', why: VIRTIOFS },
    { key: 'virtio_fs_cache', why: VIRTIOFS },
    { key: 'block_device_cache_set', kataDefault: false, why: NOT_IMPL },
    { key: 'block_device_cache_direct', kataDefault: false, why: NOT_IMPL },
    { key: 'block_device_cache_noflush', kataDefault: false, why: NOT_IMPL },
    { key: 'block_device_logical_sector_size', kataDefault: 0, why: NOT_IMPL },
    { key: 'block_device_physical_sector_size', kataDefault: 0, why: NOT_IMPL },
    { key: 'enable_iothreads', kataDefault: false, why: NOT_IMPL },
    { key: 'indep_iothreads', kataDefault: 0, why: NOT_IMPL },
    { key: 'reclaim_guest_freed_memory', kataDefault: false, why: NOT_IMPL },
    { key: 'enable_vhost_user_store', kataDefault: false, why: NOT_IMPL },
    { key: 'vhost_user_store_path', why: 'vhost-user storage is not implemented by ccgpu' },
    { key: 'valid_vhost_user_store_paths', why: 'vhost-user storage is not implemented by ccgpu' },
    { key: 'vhost_user_reconnect_timeout_sec', why: 'vhost-user storage is not implemented by ccgpu' },
    { key: 'numa_mapping', kataDefault: [], why: NOT_IMPL },
    { key: 'enable_guest_swap', kataDefault: false, why: NOT_IMPL },
    { key: 'guest_swap_path', why: NOT_IMPL },
    { key: 'guest_memory_dump_path', kataDefault: '', why: NOT_IMPL },
    { key: 'guest_memory_dump_paging', kataDefault: false, why: NOT_IMPL },
    { key: 'disable_selinux', kataDefault: false, why: 'host SELinux labelling of QEMU is not implemented by ccgpu' },
    { key: 'disable_vhost_net', kataDefault: false, why: NOT_IMPL },
    { key: 'rx_rate_limiter_max_rate', kataDefault: 0, why: NOT_IMPL },
    { key: 'tx_rate_limiter_max_rate', kataDefault: 0, why: NOT_IMPL },
    { key: 'file_mem_backend', kataDefault: '', why: NOT_IMPL },
    { key: 'pflashes', kataDefault: [], why: NOT_IMPL },
    { key: 'guest_hook_path', kataDefault: '', why: NOT_IMPL },
  ],
  'agent.kata': [
    { key: 'enable_tracing', kataDefault: false, why: NOT_IMPL },
    { key: 'container_pipe_size', kataDefault: 0, why: NOT_IMPL },
  ],
  runtime: [
    { key: 'enable_tracing', kataDefault: false, why: NOT_IMPL },
    { key: 'jaeger_endpoint', kataDefault: '', why: NOT_IMPL },
    { key: 'jaeger_user', kataDefault: '', why: NOT_IMPL },
    { key: 'jaeger_password', kataDefault: '', why: NOT_IMPL },
    { key: 'disable_new_netns', kataDefault: false, why: NOT_IMPL },
    { key: 'sandbox_bind_mounts', kataDefault: [], why: NOT_IMPL },
    { key: 'experimental', kataDefault: [], why: NOT_IMPL },
    { key: 'dan_conf', why: NOT_IMPL },
    { key: 'guest_selinux_label', kataDefault: '', why: NOT_IMPL },
  ],
};

/** Top-level tables that are accepted and ignored entirely (Kata has them; ccgpu has no VM factory or image service). */
export const IGNORED_TOP_LEVEL = ['factory', 'image'] as const;

/** `table.key` path used for provenance and `config show`. */
export function keyPath(table: TableName, key: string): string {
  return `${table}.${key}`;
}

export function describeType(t: ValueType): string {
  switch (t.kind) {
    case 'string':
      return 'a string';
    case 'bool':
      return 'a boolean (true or false)';
    case 'uint':
      return t.max !== undefined ? `an integer between 0 and ${t.max}` : 'a non-negative integer';
    case 'strings':
      return 'an array of strings';
    case 'enum':
      return `one of ${t.values.map((v) => JSON.stringify(v)).join(', ')}`;
  }
}
