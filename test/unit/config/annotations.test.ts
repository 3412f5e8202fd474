import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../src/errors/index.js';
import {
  applyAnnotations,
  checkInitdataAnnotation,
  isHypervisorAnnotationEnabled,
  loadConfigFile,
} from '../../../src/config/index.js';
import type { LoadedConfig } from '../../../src/config/index.js';
import { MINIMAL, shipped, tempConfig } from './helpers.js';

const HV = 'io.katacontainers.config.hypervisor.';
const initdata = (toml: string): string => gzipSync(Buffer.from(toml)).toString('base64');
const INITDATA_384 = initdata('version = "0.1.0"\nalgorithm = "sha384"\n[data]\n');

function refuse(loaded: LoadedConfig, ann: Record<string, string>): ConfigError {
  try {
    applyAnnotations(loaded, ann);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return e as ConfigError;
  }
  throw new Error(`expected ${JSON.stringify(ann)} to be refused`);
}

const withAnnotations = (list: string[], extra = ''): LoadedConfig =>
  loadConfigFile(tempConfig(`${MINIMAL}enable_annotations = ${JSON.stringify(list)}\n${extra}`));

describe('annotation gating', () => {
  it('check 6: cc_init_data is refused by qemu-nvidia-gpu and accepted by qemu-nvidia-gpu-snp', () => {
    const nv = loadConfigFile(shipped('qemu-nvidia-gpu'), { noDropIns: true });
    const e = refuse(nv, { [`${HV}cc_init_data`]: INITDATA_384 });
    expect(e.message).toContain('annotation io.katacontainers.config.hypervisor.cc_init_data is not enabled');
    expect(e.where.annotation).toBe(`${HV}cc_init_data`);
    const snp = loadConfigFile(shipped('qemu-nvidia-gpu-snp'), { noDropIns: true });
    const out = applyAnnotations(snp, { [`${HV}cc_init_data`]: INITDATA_384 });
    expect(out.config.hypervisor.ccInitData).toBe(INITDATA_384);
    expect(out.sources.get('hypervisor.qemu.cc_init_data')).toEqual({
      kind: 'annotation',
      annotation: `${HV}cc_init_data`,
    });
  });

  it('matching is anchored: enable_iommu does NOT admit enable_iommu_platform (Kata: it does)', () => {
    const l = withAnnotations(['enable_iommu']);
    expect(applyAnnotations(l, { [`${HV}enable_iommu`]: 'true' }).config.hypervisor.enableIommu).toBe(true);
    expect(refuse(l, { [`${HV}enable_iommu_platform`]: 'true' }).message).toContain(
      `annotation ${HV}enable_iommu_platform is not enabled`,
    );
    // Kata's unanchored regexp would have matched:
    expect(new RegExp('enable_iommu').test('enable_iommu_platform')).toBe(true);
    expect(isHypervisorAnnotationEnabled(['enable_iommu'], 'enable_iommu_platform')).toBe(false);
    expect(isHypervisorAnnotationEnabled(['enable_iommu.*'], 'enable_iommu_platform')).toBe(true);
    expect(isHypervisorAnnotationEnabled(['default_(vcpus|memory)'], 'default_memory')).toBe(true);
  });

  it('unknown hypervisor annotations are "not enabled" even under a catch-all pattern', () => {
    const l = withAnnotations(['.*']);
    expect(refuse(l, { [`${HV}no_such_key`]: 'x' }).message).toMatch(
      /^annotation io\.katacontainers\.config\.hypervisor\.no_such_key is not enabled/,
    );
  });

  it('Kata hypervisor annotations ccgpu does not implement are refused even when enabled', () => {
    const l = withAnnotations(['jailer_path']);
    expect(refuse(l, { [`${HV}jailer_path`]: '/usr/bin/jailer' }).message).toBe(
      `annotation ${HV}jailer_path is not supported by ccgpu`,
    );
  });

  it('one refused hypervisor annotation fails the whole set, even next to allowed ones', () => {
    const l = withAnnotations(['default_memory']);
    refuse(l, { [`${HV}default_memory`]: '4096', [`${HV}kernel_params`]: 'x=1' });
    expect(l.config.hypervisor.defaultMemory).toBe(2048);
  });

  it('agent and runtime annotations are not gated (as in Kata); create_container_timeout is honoured (#13180)', () => {
    const l = withAnnotations([]);
    const out = applyAnnotations(l, {
      'io.katacontainers.config.runtime.create_container_timeout': '900',
      'io.katacontainers.config.runtime.disable_guest_seccomp': 'false',
      'io.katacontainers.config.agent.kernel_modules': 'e1000e InterruptThrottleRate=3000; i915 enable_ppgtt=0',
      'io.katacontainers.config.agent.policy': 'cGFja2FnZSBhZ2VudF9wb2xpY3k=',
    });
    expect(out.config.runtime.createContainerTimeout).toBe(900);
    expect(out.sources.get('runtime.create_container_timeout')).toEqual({
      kind: 'annotation',
      annotation: 'io.katacontainers.config.runtime.create_container_timeout',
    });
    expect(out.config.runtime.disableGuestSeccomp).toBe(false);
    expect(out.config.hypervisor.disableGuestSeccomp).toBe(false);
    expect(out.config.agent.kernelModules).toEqual(['e1000e InterruptThrottleRate=3000', 'i915 enable_ppgtt=0']);
    expect(out.config.hypervisor.kernelModules).toEqual(out.config.agent.kernelModules);
    expect(out.warnings).toEqual([]);
  });

  it('unknown/unimplemented runtime and agent annotations warn and are ignored; bad values fail', () => {
    const l = withAnnotations([]);
    const out = applyAnnotations(l, {
      'io.katacontainers.config.runtime.guest_selinux_label': 'x',
      'io.katacontainers.config.agent.whatever': '1',
    });
    expect(out.warnings).toEqual([
      'annotation io.katacontainers.config.agent.whatever is not a known agent annotation; ignored',
      'annotation io.katacontainers.config.runtime.guest_selinux_label is not implemented by ccgpu; ignored',
    ]);
    expect(refuse(l, { 'io.katacontainers.config.runtime.create_container_timeout': '-5' }).message).toBe(
      'annotation io.katacontainers.config.runtime.create_container_timeout: expected a non-negative integer, got "-5"',
    );
    expect(refuse(l, { 'io.katacontainers.config.runtime.vfio_mode': 'x' }).message).toContain(
      'expected one of "guest-kernel", "vfio"',
    );
  });

  it('never mutates its input', () => {
    const l = withAnnotations(['default_memory', 'kernel_params']);
    const before = JSON.stringify(l.config);
    const sources = new Map(l.sources);
    const out = applyAnnotations(l, { [`${HV}default_memory`]: '4096', [`${HV}kernel_params`]: 'foo=1' });
    expect(out).not.toBe(l);
    expect(JSON.stringify(l.config)).toBe(before);
    expect(l.sources).toEqual(sources);
    expect(out.config.hypervisor.defaultMemory).toBe(4096);
  });
});

describe('annotation values', () => {
  it('kernel_params are appended to the configured ones (Kata AddKernelParam)', () => {
    const l = withAnnotations(['kernel_params'], 'kernel_params = "a=1 b=2"\n');
    expect(applyAnnotations(l, { [`${HV}kernel_params`]: '  c=3   d ' }).config.hypervisor.kernelParams).toBe(
      'a=1 b=2 c=3 d',
    );
  });

  it('default_vcpus (rounded up), default_memory (≥ 256 MiB) and their errors', () => {
    const l = withAnnotations(['default_vcpus', 'default_memory']);
    const out = applyAnnotations(l, { [`${HV}default_vcpus`]: '2.5', [`${HV}default_memory`]: '16384' });
    expect(out.config.hypervisor.defaultVcpus).toBe(3);
    expect(out.config.hypervisor.defaultMemory).toBe(16384);
    expect(refuse(l, { [`${HV}default_memory`]: '100' }).message).toBe(
      `annotation ${HV}default_memory: 100 MiB is less than the minimum of 256 MiB`,
    );
    expect(refuse(l, { [`${HV}default_vcpus`]: 'two' }).message).toContain('expected a positive number of vCPUs');
  });

  it('booleans use Go ParseBool spellings', () => {
    const l = withAnnotations(['enable_iommu']);
    expect(applyAnnotations(l, { [`${HV}enable_iommu`]: 'T' }).config.hypervisor.enableIommu).toBe(true);
    expect(refuse(l, { [`${HV}enable_iommu`]: 'yes' }).message).toBe(
      `annotation ${HV}enable_iommu: expected a boolean (true or false), got "yes"`,
    );
  });

  it('cold_plug_vfio turns hot plug off, pcie_root_port is clamped, and validation re-runs on the result', () => {
    const l = withAnnotations(['cold_plug_vfio', 'hot_plug_vfio', 'pcie_root_port'], 'hot_plug_vfio = "root-port"\n');
    const out = applyAnnotations(l, { [`${HV}cold_plug_vfio`]: 'switch-port', [`${HV}pcie_root_port`]: '40' });
    expect(out.config.hypervisor.coldPlugVfio).toBe('switch-port');
    expect(out.config.hypervisor.hotPlugVfio).toBe('no-port');
    expect(out.config.hypervisor.pcieRootPort).toBe(16);
    expect(out.warnings).toContain(`annotation ${HV}pcie_root_port: 40 exceeds the maximum of 16; clamped to 16`);
    expect(refuse(l, { [`${HV}cold_plug_vfio`]: 'pcie' }).message).toContain(
      'expected one of "no-port", "root-port", "switch-port", "bridge-port"',
    );
  });

  it('validation errors caused by an annotation name the annotation', () => {
    const l = loadConfigFile(
      tempConfig(`${MINIMAL}confidential_guest = true\nenable_annotations = ["hot_plug_vfio"]\n`),
    );
    const e = refuse(l, { [`${HV}hot_plug_vfio`]: 'root-port' });
    expect(e.message).toBe(
      `annotation ${HV}hot_plug_vfio: "root-port" is not supported for a confidential guest: VFIO devices are cold-plugged only (use cold_plug_vfio)`,
    );
  });
});

describe('path-valued annotations need an allow-list entry', () => {
  const l = withAnnotations(
    ['path', 'kernel', 'image', 'initrd', 'firmware', 'entropy_source'],
    'valid_hypervisor_paths = ["/opt/ccgpu/bin/qemu-*"]\nvalid_kernel_paths = ["/opt/ccgpu/share/ccgpu/vmlinuz-*.container"]\nvalid_entropy_sources = ["/dev/urandom", "/dev/random"]\n',
  );

  it('accepts a path matching the glob', () => {
    const out = applyAnnotations(l, {
      [`${HV}path`]: '/opt/ccgpu/bin/qemu-system-x86_64-snp-experimental',
      [`${HV}kernel`]: '/opt/ccgpu/share/ccgpu/vmlinuz-nvidia-gpu.container',
      [`${HV}entropy_source`]: '/dev/random',
    });
    expect(out.config.hypervisor.path).toBe('/opt/ccgpu/bin/qemu-system-x86_64-snp-experimental');
    expect(out.config.hypervisor.kernel).toBe('/opt/ccgpu/share/ccgpu/vmlinuz-nvidia-gpu.container');
    expect(out.config.hypervisor.entropySource).toBe('/dev/random');
  });

  it('refuses paths outside the list, unclean paths and lists that are empty', () => {
    expect(refuse(l, { [`${HV}path`]: '/usr/bin/qemu-system-x86_64' }).message).toContain(
      'must be a clean absolute path matching valid_hypervisor_paths ("/opt/ccgpu/bin/qemu-*")',
    );
    expect(refuse(l, { [`${HV}path`]: '/opt/ccgpu/bin/../../../tmp/qemu-x' }).message).toContain('is not allowed');
    expect(refuse(l, { [`${HV}path`]: '/opt/ccgpu/bin/qemu-x/../evil' }).message).toContain('is not allowed');
    expect(refuse(l, { [`${HV}path`]: 'opt/ccgpu/bin/qemu-x' }).message).toContain('is not allowed');
    expect(refuse(l, { [`${HV}image`]: '/opt/ccgpu/share/ccgpu/x.img' }).message).toContain(
      'valid_image_paths (empty: every value is refused)',
    );
    expect(refuse(l, { [`${HV}firmware`]: '/opt/ccgpu/share/ovmf/OVMF.fd' }).message).toContain('valid_firmware_paths');
    expect(refuse(l, { [`${HV}entropy_source`]: '/dev/sda' }).message).toContain('is not in valid_entropy_sources');
  });
});

describe('initdata annotation structure', () => {
  const l = withAnnotations(['cc_init_data']);
  const ann = (v: string) => ({ [`${HV}cc_init_data`]: v });

  for (const alg of ['sha256', 'sha384', 'sha512']) {
    it(`accepts algorithm ${alg}`, () => {
      const v = initdata(`version = "0.1.0"\nalgorithm = "${alg}"\n[data]\n"aa.toml" = "x"\n`);
      expect(checkInitdataAnnotation(v)).toMatchObject({ algorithm: alg, version: '0.1.0' });
      expect(applyAnnotations(l, ann(v)).config.hypervisor.ccInitData).toBe(v);
    });
  }

  it('an unsupported algorithm is an error, never a crash (Kata panics)', () => {
    const e = refuse(l, ann(initdata('version = "0.1.0"\nalgorithm = "md5"\n')));
    expect(e.message).toBe(
      `annotation ${HV}cc_init_data: initdata algorithm "md5" is not supported; expected one of "sha256", "sha384", "sha512"`,
    );
    expect(refuse(l, ann(initdata('version = "0.1.0"\n'))).message).toContain(
      'initdata algorithm (missing) is not supported',
    );
  });

  it('not base64, not gzip, not TOML: each a clear error', () => {
    expect(refuse(l, ann('***')).message).toContain('initdata must be standard base64');
    expect(refuse(l, ann(Buffer.from('plain text').toString('base64'))).message).toContain(
      'initdata is not gzip-compressed data',
    );
    expect(refuse(l, ann(initdata('version = \n'))).message).toContain('initdata is not valid TOML at line 1');
  });

  it('an empty value is ignored (as in Kata)', () => {
    expect(applyAnnotations(l, ann('')).config.hypervisor.ccInitData).toBeUndefined();
  });
});
