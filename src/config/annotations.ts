/**
 * Pod annotations `io.katacontainers.config.*` → configuration overrides, following Kata's `oci/utils.go`.
 *
 * - Hypervisor annotations (`io.katacontainers.config.hypervisor.<key>`) are gated by `enable_annotations`. Kata
 *   matches each entry as an UNANCHORED regular expression against `<key>`, so `enable_iommu` also admits
 *   `enable_iommu_platform` (and `path` admits `virtio_fs_daemon_paths`...). ccgpu anchors the match (`^(?:entry)$`):
 *   an entry admits exactly the keys it names, or the keys its regular expression matches as a whole.
 *   A hypervisor annotation that is not enabled, or is not a known key, fails with `annotation <key> is not enabled`.
 * - Path-valued hypervisor annotations must also be in an allow-list (`valid_hypervisor_paths`, ...).
 * - Agent and runtime annotations are not gated (as in Kata).
 *
 * `applyAnnotations` never mutates its input; the result is validated again like a loaded file.
 */
import { ConfigError } from '../errors/index.js';
import { checkInitdataAnnotation, INITDATA_ANNOTATION } from './initdata-check.js';
import { pathInGlobs } from './path-glob.js';
import { describeSource, Provenance } from './provenance.js';
import { keyPath, MIN_MEMORY_MIB, VFIO_MODES, VFIO_PORTS, type TableName } from './schema.js';
import type { LoadedConfig, QemuConfig, RuntimeConfig, ValueSource, VfioMode, VfioPort } from './types.js';
import { compileAnnotationPattern, validateConfig } from './validate.js';

export const KATA_CONFIG_ANNOTATION_PREFIX = 'io.katacontainers.config.';
export const HYPERVISOR_ANNOTATION_PREFIX = 'io.katacontainers.config.hypervisor.';
export const AGENT_ANNOTATION_PREFIX = 'io.katacontainers.config.agent.';
export const RUNTIME_ANNOTATION_PREFIX = 'io.katacontainers.config.runtime.';
/** Kata's constant for vCPU pinning really is outside `config.runtime.` (upstream typo); both spellings are accepted. */
export const KATA_VCPUS_PINNING_ANNOTATION = 'io.katacontainers.enable_vcpus_pinning';
/** The agent policy travels to the agent untouched; it is not a configuration value. */
export const AGENT_POLICY_ANNOTATION = 'io.katacontainers.config.agent.policy';

interface Ctx {
  cfg: RuntimeConfig;
  /** The annotation being applied. */
  annotation: string;
  set(table: TableName, key: string): void;
  bad(msg: string): never;
  warn(msg: string): void;
}

type Apply = (value: string, c: Ctx) => void;

const GO_TRUE = ['1', 't', 'T', 'TRUE', 'true', 'True'];
const GO_FALSE = ['0', 'f', 'F', 'FALSE', 'false', 'False'];

function parseBool(v: string, c: Ctx): boolean {
  if (GO_TRUE.includes(v)) return true;
  if (GO_FALSE.includes(v)) return false;
  return c.bad(`expected a boolean (true or false), got ${JSON.stringify(v)}`);
}

function parseUint(v: string, c: Ctx, max = 0xffff_ffff): number {
  if (!/^[0-9]+$/.test(v)) c.bad(`expected a non-negative integer, got ${JSON.stringify(v)}`);
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n > max) c.bad(`${v} exceeds the maximum of ${max}`);
  return n;
}

function oneOf<T extends string>(v: string, allowed: readonly T[], c: Ctx): T {
  if (!(allowed as readonly string[]).includes(v)) {
    c.bad(`expected one of ${allowed.map((a) => JSON.stringify(a)).join(', ')}, got ${JSON.stringify(v)}`);
  }
  return v as T;
}

function hv<K extends keyof QemuConfig>(
  field: K,
  key: string,
  parse: (v: string, c: Ctx) => QemuConfig[K] | undefined,
): Apply {
  return (v, c) => {
    const x = parse(v, c);
    if (x === undefined) return;
    c.cfg.hypervisor[field] = x;
    c.set('hypervisor.qemu', key);
  };
}

const bool = (field: keyof QemuConfig & string, key: string): Apply =>
  hv(field as never, key, (v, c) => parseBool(v, c) as never);

/** A path annotation: must be clean, absolute and in the allow-list named by `listKey`. */
function assetPath(
  field: keyof QemuConfig & string,
  key: string,
  list: (h: QemuConfig) => string[] | undefined,
  listKey: string,
): Apply {
  return hv(field as never, key, (v, c) => {
    const allowed = list(c.cfg.hypervisor) ?? [];
    if (!pathInGlobs(v, allowed)) {
      c.bad(
        `${JSON.stringify(v)} is not allowed: it must be a clean absolute path matching ${listKey} (${
          allowed.length ? allowed.map((a) => JSON.stringify(a)).join(', ') : 'empty: every value is refused'
        })`,
      );
    }
    return v as never;
  });
}

const nonEmptyString = (field: keyof QemuConfig & string, key: string): Apply =>
  hv(field as never, key, (v) => (v === '' ? undefined : (v as never)));

function vfioPort(v: string, c: Ctx): VfioPort {
  return v === '' ? 'no-port' : oneOf(v, VFIO_PORTS, c);
}

/** Hypervisor annotations ccgpu implements, by key (the part after `io.katacontainers.config.hypervisor.`). */
const HYPERVISOR_ANNOTATIONS: Record<string, Apply> = {
  path: assetPath('path', 'path', (h) => h.validHypervisorPaths, 'valid_hypervisor_paths'),
  kernel: assetPath('kernel', 'kernel', (h) => h.validKernelPaths, 'valid_kernel_paths'),
  image: assetPath('image', 'image', (h) => h.validImagePaths, 'valid_image_paths'),
  initrd: assetPath('initrd', 'initrd', (h) => h.validInitrdPaths, 'valid_initrd_paths'),
  firmware: assetPath('firmware', 'firmware', (h) => h.validFirmwarePaths, 'valid_firmware_paths'),
  firmware_volume: assetPath('firmwareVolume', 'firmware_volume', (h) => h.validFirmwarePaths, 'valid_firmware_paths'),
  virtio_fs_daemon: assetPath(
    'virtioFsDaemon',
    'virtio_fs_daemon',
    (h) => h.validVirtioFsDaemonPaths,
    'valid_virtio_fs_daemon_paths',
  ),
  entropy_source: (v, c) => {
    if (!pathInGlobs(v, c.cfg.hypervisor.validEntropySources)) {
      c.bad(
        `${JSON.stringify(v)} is not in valid_entropy_sources (${c.cfg.hypervisor.validEntropySources.map((a) => JSON.stringify(a)).join(', ') || 'empty'})`,
      );
    }
    c.cfg.hypervisor.entropySource = v;
    c.set('hypervisor.qemu', 'entropy_source');
  },
  // Kata appends the annotation's parameters to the configured ones (the kernel honours the last occurrence).
  kernel_params: (v, c) => {
    const extra = v.trim().split(/\s+/).filter(Boolean).join(' ');
    if (extra === '') return;
    const h = c.cfg.hypervisor;
    h.kernelParams = h.kernelParams.trim() === '' ? extra : `${h.kernelParams.trim()} ${extra}`;
    c.set('hypervisor.qemu', 'kernel_params');
  },
  kernel_verity_params: hv('kernelVerityParams', 'kernel_verity_params', (v) => v),
  machine_type: hv('machineType', 'machine_type', (v, c) => (v === '' ? undefined : oneOf(v, ['q35'], c))),
  machine_accelerators: nonEmptyString('machineAccelerators', 'machine_accelerators'),
  cpu_features: nonEmptyString('cpuFeatures', 'cpu_features'),
  default_vcpus: hv('defaultVcpus', 'default_vcpus', (v, c) => {
    const n = Number(v);
    if (!/^[0-9]+(\.[0-9]+)?$/.test(v) || !Number.isFinite(n))
      c.bad(`expected a positive number of vCPUs, got ${JSON.stringify(v)}`);
    if (n > 1024) c.bad(`${v} exceeds the maximum of 1024`);
    return Math.ceil(n);
  }),
  default_max_vcpus: hv('defaultMaxvcpus', 'default_maxvcpus', (v, c) => parseUint(v, c, 1024)),
  default_memory: hv('defaultMemory', 'default_memory', (v, c) => {
    const n = parseUint(v, c);
    if (n < MIN_MEMORY_MIB) c.bad(`${n} MiB is less than the minimum of ${MIN_MEMORY_MIB} MiB`);
    return n;
  }),
  memory_slots: hv('memorySlots', 'memory_slots', (v, c) => {
    const n = parseUint(v, c, 255);
    return n > 0 ? n : undefined;
  }),
  enable_virtio_mem: bool('enableVirtioMem', 'enable_virtio_mem'),
  enable_mem_prealloc: bool('enableMemPrealloc', 'enable_mem_prealloc'),
  enable_hugepages: bool('enableHugepages', 'enable_hugepages'),
  enable_iommu: bool('enableIommu', 'enable_iommu'),
  enable_iommu_platform: bool('enableIommuPlatform', 'enable_iommu_platform'),
  disable_block_device_use: bool('disableBlockDeviceUse', 'disable_block_device_use'),
  disable_image_nvdimm: bool('disableImageNvdimm', 'disable_image_nvdimm'),
  use_legacy_serial: bool('useLegacySerial', 'use_legacy_serial'),
  block_device_driver: hv('blockDeviceDriver', 'block_device_driver', (v, c) =>
    oneOf(v, ['virtio-scsi', 'virtio-blk', 'virtio-mmio', 'nvdimm', 'virtio-blk-ccw'], c),
  ),
  block_device_aio: hv('blockDeviceAio', 'block_device_aio', (v, c) => oneOf(v, ['native', 'threads', 'io_uring'], c)),
  shared_fs: hv('sharedFs', 'shared_fs', (v, c) => oneOf(v, ['virtio-9p', 'virtio-fs'], c)),
  // Kata: setting one of them through an annotation turns the other off.
  hot_plug_vfio: (v, c) => {
    c.cfg.hypervisor.hotPlugVfio = vfioPort(v, c);
    c.cfg.hypervisor.coldPlugVfio = 'no-port';
    c.set('hypervisor.qemu', 'hot_plug_vfio');
    c.set('hypervisor.qemu', 'cold_plug_vfio');
  },
  cold_plug_vfio: (v, c) => {
    c.cfg.hypervisor.coldPlugVfio = vfioPort(v, c);
    c.cfg.hypervisor.hotPlugVfio = 'no-port';
    c.set('hypervisor.qemu', 'cold_plug_vfio');
    c.set('hypervisor.qemu', 'hot_plug_vfio');
  },
  pcie_root_port: hv('pcieRootPort', 'pcie_root_port', (v, c) => {
    const n = parseUint(v, c);
    return n > 0 ? n : undefined;
  }),
  pcie_switch_port: hv('pcieSwitchPort', 'pcie_switch_port', (v, c) => {
    const n = parseUint(v, c);
    return n > 0 ? n : undefined;
  }),
  cc_init_data: (v, c) => {
    if (v === '') return; // Kata: an empty value is ignored
    checkInitdataAnnotation(v, c.annotation);
    c.cfg.hypervisor.ccInitData = v;
    c.set('hypervisor.qemu', 'cc_init_data');
  },
};

/** Hypervisor annotations Kata knows but ccgpu does not implement: refused even when enabled (fail closed). */
const UNSUPPORTED_HYPERVISOR_ANNOTATIONS = new Set([
  'jailer_path',
  'kernel_hash',
  'image_hash',
  'initrd_hash',
  'hypervisor_hash',
  'jailer_hash',
  'firmware_hash',
  'firmware_volume_hash',
  'disable_vhost_net',
  'enable_vhost_user_store',
  'vhost_user_store_path',
  'vhost_user_reconnect_timeout_sec',
  'guest_hook_path',
  'default_gpus',
  'default_gpu_model',
  'memory_offset',
  'reclaim_guest_freed_memory',
  'file_mem_backend',
  'msize_9p',
  'virtio_fs_cache',
  'virtio_fs_cache_size',
  'virtio_fs_extra_args',
  'enable_iothreads',
  'block_device_cache_set',
  'block_device_cache_direct',
  'block_device_cache_noflush',
  'rx_rate_limiter_max_rate',
  'tx_rate_limiter_max_rate',
  'enable_guest_swap',
  'rootless',
  'sgx_epc',
]);

function runtimeBool(
  field: 'disableGuestSeccomp' | 'sandboxCgroupOnly' | 'experimentalForceGuestPull' | 'enableVcpusPinning',
  key: string,
): Apply {
  return (v, c) => {
    const b = parseBool(v, c);
    c.cfg.runtime[field] = b;
    if (field === 'disableGuestSeccomp') c.cfg.hypervisor.disableGuestSeccomp = b;
    c.set('runtime', key);
  };
}

const RUNTIME_ANNOTATIONS: Record<string, Apply> = {
  disable_guest_seccomp: runtimeBool('disableGuestSeccomp', 'disable_guest_seccomp'),
  sandbox_cgroup_only: runtimeBool('sandboxCgroupOnly', 'sandbox_cgroup_only'),
  experimental_force_guest_pull: runtimeBool('experimentalForceGuestPull', 'experimental_force_guest_pull'),
  enable_vcpus_pinning: runtimeBool('enableVcpusPinning', 'enable_vcpus_pinning'),
  create_container_timeout: (v, c) => {
    c.cfg.runtime.createContainerTimeout = parseUint(v, c);
    c.set('runtime', 'create_container_timeout');
  },
  internetworking_model: (v, c) => {
    c.cfg.runtime.internetworkingModel = oneOf(v, ['macvtap', 'tcfilter', 'none'], c);
    c.set('runtime', 'internetworking_model');
  },
  vfio_mode: (v, c) => {
    c.cfg.runtime.vfioMode = oneOf<VfioMode>(v, VFIO_MODES, c);
    c.set('runtime', 'vfio_mode');
  },
};
const UNSUPPORTED_RUNTIME_ANNOTATIONS = new Set([
  'disable_new_netns',
  'experimental',
  'guest_selinux_label',
  'enable_pprof',
]);

const AGENT_ANNOTATIONS: Record<string, Apply> = {
  // `;`-separated, each "module param=value ..." (Kata's format).
  kernel_modules: (v, c) => {
    const mods = v
      .split(';')
      .map((m) => m.trim())
      .filter(Boolean);
    c.cfg.agent.kernelModules = mods;
    c.cfg.hypervisor.kernelModules = [...mods];
    c.set('agent.kata', 'kernel_modules');
  },
};
const UNSUPPORTED_AGENT_ANNOTATIONS = new Set(['enable_tracing', 'container_pipe_size']);

function cloneConfig(cfg: RuntimeConfig): RuntimeConfig {
  return structuredClone(cfg);
}

/** True when `key` (the part after the hypervisor prefix) is admitted by `enable_annotations` (anchored match). */
export function isHypervisorAnnotationEnabled(enableAnnotations: readonly string[], key: string): boolean {
  return enableAnnotations.some((p) => {
    try {
      return compileAnnotationPattern(p).test(key);
    } catch {
      return false;
    }
  });
}

/**
 * Applies pod annotations to a loaded configuration and validates the result. Returns a new LoadedConfig (sources
 * name the annotations; warnings list ignored ones); throws ConfigError naming the annotation on a refused or bad one.
 */
export function applyAnnotations(loaded: LoadedConfig, annotations: Record<string, string>): LoadedConfig {
  const cfg = cloneConfig(loaded.config);
  const sources = new Map<string, ValueSource>(loaded.sources);
  const warnings = [...loaded.warnings];
  const enabled = loaded.config.hypervisor.enableAnnotations;

  const keys = Object.keys(annotations).sort();
  // Gate first, so that no annotation is applied when any hypervisor annotation is refused.
  for (const name of keys) {
    if (!name.startsWith(HYPERVISOR_ANNOTATION_PREFIX)) continue;
    const key = name.slice(HYPERVISOR_ANNOTATION_PREFIX.length);
    const known = key in HYPERVISOR_ANNOTATIONS || UNSUPPORTED_HYPERVISOR_ANNOTATIONS.has(key);
    if (!known || !isHypervisorAnnotationEnabled(enabled, key)) {
      throw new ConfigError(
        `annotation ${name} is not enabled` +
          (known
            ? ` (add ${JSON.stringify(key)} to [hypervisor.qemu] enable_annotations, set by ${describeSource(
                loaded.sources.get('hypervisor.qemu.enable_annotations') ?? { kind: 'default' },
              )}, to allow it)`
            : ` (${JSON.stringify(key)} is not a hypervisor annotation ccgpu knows)`),
        { annotation: name },
      );
    }
    if (UNSUPPORTED_HYPERVISOR_ANNOTATIONS.has(key)) {
      throw new ConfigError(`annotation ${name} is not supported by ccgpu`, { annotation: name });
    }
  }

  for (const name of keys) {
    const value = annotations[name]!;
    const ctx: Ctx = {
      cfg,
      annotation: name,
      set: (table, key) => sources.set(keyPath(table, key), { kind: 'annotation', annotation: name }),
      bad: (msg) => {
        throw new ConfigError(`annotation ${name}: ${msg}`, { annotation: name });
      },
      warn: (msg) => warnings.push(msg),
    };
    let apply: Apply | undefined;
    if (name.startsWith(HYPERVISOR_ANNOTATION_PREFIX)) {
      apply = HYPERVISOR_ANNOTATIONS[name.slice(HYPERVISOR_ANNOTATION_PREFIX.length)];
    } else if (name.startsWith(RUNTIME_ANNOTATION_PREFIX)) {
      const key = name.slice(RUNTIME_ANNOTATION_PREFIX.length);
      apply = RUNTIME_ANNOTATIONS[key];
      if (!apply) {
        warnings.push(
          UNSUPPORTED_RUNTIME_ANNOTATIONS.has(key)
            ? `annotation ${name} is not implemented by ccgpu; ignored`
            : `annotation ${name} is not a known runtime annotation; ignored`,
        );
      }
    } else if (name === KATA_VCPUS_PINNING_ANNOTATION) {
      apply = RUNTIME_ANNOTATIONS.enable_vcpus_pinning;
    } else if (name.startsWith(AGENT_ANNOTATION_PREFIX)) {
      const key = name.slice(AGENT_ANNOTATION_PREFIX.length);
      apply = AGENT_ANNOTATIONS[key];
      if (!apply && name !== AGENT_POLICY_ANNOTATION) {
        warnings.push(
          UNSUPPORTED_AGENT_ANNOTATIONS.has(key)
            ? `annotation ${name} is not implemented by ccgpu; ignored`
            : `annotation ${name} is not a known agent annotation; ignored`,
        );
      }
    }
    apply?.(value, ctx);
  }

  // Re-validate; warnings already given at load time are not repeated.
  validateConfig(cfg, new Provenance(sources), (w) => {
    if (!warnings.includes(w)) warnings.push(w);
  });
  return { config: cfg, file: loaded.file, dropIns: [...loaded.dropIns], sources, warnings };
}

export { INITDATA_ANNOTATION };
