/**
 * Cross-key validation and normalisation of a typed configuration, run after loading and again after annotations.
 * Errors name where the offending value came from (file + table + key, or the annotation) and what is allowed.
 * Normalisations follow Kata (0 → default, clamping) and are reported as warnings where Kata is silent.
 */
import { ConfigError } from '../errors/index.js';
import { MAX_BRIDGES, MAX_PCIE_PORTS, MIN_MEMORY_MIB, keyPath } from './schema.js';
import type { Provenance } from './provenance.js';
import type { RuntimeConfig } from './types.js';

const H = (key: string): string => keyPath('hypervisor.qemu', key);
const A = (key: string): string => keyPath('agent.kata', key);
const R = (key: string): string => keyPath('runtime', key);

/** SEV-SNP: ID block and ID auth sizes (bytes, before base64) from the SNP firmware ABI. */
export const SNP_ID_BLOCK_SIZE = 96;
export const SNP_ID_AUTH_SIZE = 4096;
/** Bit 17 of the SNP guest policy is reserved and must be 1. */
const SNP_POLICY_RESERVED_MBO = 1 << 17;

export const VERITY_PARAM_KEYS = ['root_hash', 'salt', 'data_blocks', 'data_block_size', 'hash_block_size'] as const;

const BASE64_RE = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

function fail(prov: Provenance, path: string, msg: string): never {
  throw new ConfigError(`${prov.label(path)}: ${msg}`, prov.where(path));
}

/** Compiles an `enable_annotations` entry as ccgpu matches it: anchored at both ends. */
export function compileAnnotationPattern(pattern: string): RegExp {
  return new RegExp(`^(?:${pattern})$`);
}

function checkBase64Blob(prov: Provenance, path: string, value: string, size: number, what: string): void {
  if (!BASE64_RE.test(value)) fail(prov, path, `${what} must be standard base64, got a value that is not`);
  const n = Buffer.from(value, 'base64').length;
  if (n !== size) fail(prov, path, `${what} must decode to ${size} bytes, got ${n}`);
}

/** Parses `kernel_verity_params` (`root_hash=...,salt=...,...`); throws a ConfigError on a malformed value. */
export function checkVerityParams(prov: Provenance, path: string, value: string): void {
  if (value.trim() === '') return;
  for (const part of value.split(',')) {
    const eq = part.indexOf('=');
    const k = eq < 0 ? part.trim() : part.slice(0, eq).trim();
    const v = eq < 0 ? '' : part.slice(eq + 1).trim();
    if (!(VERITY_PARAM_KEYS as readonly string[]).includes(k)) {
      fail(
        prov,
        path,
        `unknown dm-verity parameter ${JSON.stringify(k)}; expected comma-separated key=value with keys ${VERITY_PARAM_KEYS.join(', ')}`,
      );
    }
    if (v === '') fail(prov, path, `dm-verity parameter ${k} has no value`);
    if (k === 'root_hash' && !/^[0-9a-fA-F]+$/.test(v)) fail(prov, path, `root_hash must be hexadecimal`);
    if (k !== 'root_hash' && k !== 'salt' && !/^[0-9]+$/.test(v)) fail(prov, path, `${k} must be a decimal integer`);
  }
}

/**
 * Validates `cfg` and normalises it in place. `warn` receives warnings (clamped values, settings without effect).
 */
export function validateConfig(cfg: RuntimeConfig, prov: Provenance, warn: (msg: string) => void): void {
  const h = cfg.hypervisor;

  // Required and absolute paths.
  if (h.path === '') fail(prov, H('path'), 'the QEMU binary path must not be empty');
  if (h.kernel === '') fail(prov, H('kernel'), 'the guest kernel path must not be empty');
  const absolute: [string, string][] = [
    ['path', h.path],
    ['kernel', h.kernel],
    ['image', h.image],
    ['initrd', h.initrd],
    ['firmware', h.firmware],
    ['firmware_volume', h.firmwareVolume],
    ['entropy_source', h.entropySource],
  ];
  for (const [key, v] of absolute) {
    if (v !== '' && !v.startsWith('/')) fail(prov, H(key), `must be an absolute path, got ${JSON.stringify(v)}`);
  }
  for (const [path, v] of [
    [R('pod_resource_api_sock'), cfg.runtime.podResourceApiSock],
    [R('kubelet_root_dir'), cfg.runtime.kubeletRootDir],
  ] as const) {
    if (v !== '' && !v.startsWith('/')) fail(prov, path, `must be an absolute path, got ${JSON.stringify(v)}`);
  }
  for (const d of cfg.runtime.cdiSpecDirs) {
    if (!d.startsWith('/'))
      fail(prov, R('cdi_spec_dirs'), `every entry must be an absolute directory, got ${JSON.stringify(d)}`);
  }
  if (h.image !== '' && h.initrd !== '') {
    fail(
      prov,
      H('initrd'),
      `image (${JSON.stringify(h.image)}) and initrd (${JSON.stringify(h.initrd)}) cannot both be set; use one of them`,
    );
  }

  // Sizing (Kata: 0 means the default).
  if (h.defaultVcpus === 0) h.defaultVcpus = 1;
  if (h.defaultMemory === 0) h.defaultMemory = 2048;
  if (h.defaultMemory < MIN_MEMORY_MIB) {
    fail(prov, H('default_memory'), `${h.defaultMemory} MiB is less than the minimum of ${MIN_MEMORY_MIB} MiB`);
  }
  if (h.defaultMaxvcpus !== 0 && h.defaultMaxvcpus < h.defaultVcpus) {
    fail(
      prov,
      H('default_maxvcpus'),
      `${h.defaultMaxvcpus} is less than default_vcpus (${h.defaultVcpus}); use 0 (no limit) or a value >= default_vcpus`,
    );
  }
  if (h.defaultMaxmemory !== 0 && h.defaultMaxmemory < h.defaultMemory) {
    fail(
      prov,
      H('default_maxmemory'),
      `${h.defaultMaxmemory} MiB is less than default_memory (${h.defaultMemory} MiB); use 0 (no limit) or a larger value`,
    );
  }
  if (h.defaultBridges === 0) h.defaultBridges = 1;
  if (h.defaultBridges > MAX_BRIDGES) {
    warn(
      `${prov.label(H('default_bridges'))}: ${h.defaultBridges} exceeds the maximum of ${MAX_BRIDGES}; clamped to ${MAX_BRIDGES}`,
    );
    h.defaultBridges = MAX_BRIDGES;
  }

  // VFIO / PCIe.
  if (h.hotPlugVfio !== 'no-port' && h.coldPlugVfio !== 'no-port') {
    const src = prov.source(H('hot_plug_vfio')).kind === 'annotation' ? H('hot_plug_vfio') : H('cold_plug_vfio');
    fail(
      prov,
      src,
      `hot_plug_vfio = ${JSON.stringify(h.hotPlugVfio)} and cold_plug_vfio = ${JSON.stringify(h.coldPlugVfio)} cannot both be set; set one of them to "no-port"`,
    );
  }
  for (const [key, field] of [
    ['pcie_root_port', 'pcieRootPort'],
    ['pcie_switch_port', 'pcieSwitchPort'],
  ] as const) {
    if (h[field] > MAX_PCIE_PORTS) {
      warn(`${prov.label(H(key))}: ${h[field]} exceeds the maximum of ${MAX_PCIE_PORTS}; clamped to ${MAX_PCIE_PORTS}`);
      h[field] = MAX_PCIE_PORTS;
    }
  }

  // Confidential guests.
  if (h.confidentialGuest) {
    if (h.accel === 'tcg') {
      fail(
        prov,
        H('accel'),
        'accel = "tcg" cannot run a confidential guest (SEV-SNP/TDX need KVM); use accel = "kvm" or confidential_guest = false',
      );
    }
    if (h.hotPlugVfio !== 'no-port') {
      fail(
        prov,
        H('hot_plug_vfio'),
        `${JSON.stringify(h.hotPlugVfio)} is not supported for a confidential guest: VFIO devices are cold-plugged only (use cold_plug_vfio)`,
      );
    }
    if (h.extraMonitorSocket !== '' && !(h.allowDebugMonitorOnConfidentialGuest && h.enableDebug)) {
      fail(
        prov,
        H('extra_monitor_socket'),
        `${JSON.stringify(h.extraMonitorSocket)} is refused for a confidential guest: anyone with the socket controls the VM. ` +
          'For a debug-only instance set both allow_debug_monitor_on_confidential_guest = true and enable_debug = true in [hypervisor.qemu]',
      );
    }
  } else if (h.sevSnpGuest) {
    warn(`${prov.label(H('sev_snp_guest'))}: has no effect because confidential_guest is false`);
  }

  // SEV-SNP launch parameters.
  if (h.snpIdBlock !== '' && h.snpIdAuth === '') {
    fail(
      prov,
      H('snp_id_block'),
      'snp_id_block is set but snp_id_auth is empty: an IDBlock without IDAuth is rejected; set both or neither',
    );
  }
  if (h.snpIdAuth !== '' && h.snpIdBlock === '') {
    fail(
      prov,
      H('snp_id_auth'),
      'snp_id_auth is set but snp_id_block is empty: an IDAuth without IDBlock is rejected; set both or neither',
    );
  }
  if (h.snpIdBlock !== '') checkBase64Blob(prov, H('snp_id_block'), h.snpIdBlock, SNP_ID_BLOCK_SIZE, 'snp_id_block');
  if (h.snpIdAuth !== '') checkBase64Blob(prov, H('snp_id_auth'), h.snpIdAuth, SNP_ID_AUTH_SIZE, 'snp_id_auth');
  if (h.snpGuestPolicy !== undefined && (h.snpGuestPolicy & SNP_POLICY_RESERVED_MBO) === 0) {
    fail(
      prov,
      H('snp_guest_policy'),
      `0x${h.snpGuestPolicy.toString(16)} has reserved bit 17 clear; it must be set (QEMU's default is 196608 = 0x30000)`,
    );
  }

  checkVerityParams(prov, H('kernel_verity_params'), h.kernelVerityParams);

  // Debug monitor without debug does nothing (Kata: only effective with enable_debug).
  if (!h.confidentialGuest && h.extraMonitorSocket !== '' && !h.enableDebug) {
    warn(
      `${prov.label(H('extra_monitor_socket'))}: ${JSON.stringify(h.extraMonitorSocket)} has no effect unless enable_debug = true`,
    );
  }

  for (const pattern of h.enableAnnotations) {
    try {
      compileAnnotationPattern(pattern);
    } catch (e) {
      fail(
        prov,
        H('enable_annotations'),
        `entry ${JSON.stringify(pattern)} is not a valid regular expression (${(e as Error).message})`,
      );
    }
  }

  // Timeouts (Kata: 0 means the default).
  if (cfg.runtime.createContainerTimeout === 0) cfg.runtime.createContainerTimeout = 60;
  if (cfg.agent.dialTimeout === 0) {
    fail(prov, A('dial_timeout'), 'must be at least 1 second');
  }
}
