import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../src/errors/index.js';
import { loadConfig, loadConfigFile, resolveConfigPath, staticSandboxSizing } from '../../../src/config/index.js';
import { MINIMAL, shipped, tempConfig, tempConfigDir } from './helpers.js';

describe('staticSandboxSizing', () => {
  const snp = loadConfigFile(shipped('qemu-nvidia-gpu-snp'), { noDropIns: true }).config;

  it('check 18: quota 1600000 / period 100000 and 48 GiB → 17 vCPUs and 57344 MiB', () => {
    expect(
      staticSandboxSizing(snp, {
        'io.kubernetes.cri.sandbox-cpu-quota': '1600000',
        'io.kubernetes.cri.sandbox-cpu-period': '100000',
        'io.kubernetes.cri.sandbox-memory': '51539607552',
      }),
    ).toEqual({ vcpus: 17, memoryMiB: 57344 });
  });

  it('no annotations, unlimited (-1) or zero period: the defaults', () => {
    expect(staticSandboxSizing(snp, {})).toEqual({ vcpus: 1, memoryMiB: 8192 });
    expect(
      staticSandboxSizing(snp, {
        'io.kubernetes.cri.sandbox-cpu-quota': '-1',
        'io.kubernetes.cri.sandbox-cpu-period': '100000',
        'io.kubernetes.cri.sandbox-memory': '-1',
      }),
    ).toEqual({ vcpus: 1, memoryMiB: 8192 });
    expect(
      staticSandboxSizing(snp, {
        'io.kubernetes.cri.sandbox-cpu-quota': '50000',
        'io.kubernetes.cri.sandbox-cpu-period': '0',
      }),
    ).toEqual({
      vcpus: 1,
      memoryMiB: 8192,
    });
  });

  it('fractional CPUs round up after adding the default', () => {
    expect(
      staticSandboxSizing(snp, {
        'io.kubernetes.cri.sandbox-cpu-quota': '250000',
        'io.kubernetes.cri.sandbox-cpu-period': '100000',
      }).vcpus,
    ).toBe(4);
  });

  it('without static_sandbox_resource_mgmt the annotations are not used', () => {
    const plain = loadConfigFile(tempConfig(MINIMAL)).config;
    expect(staticSandboxSizing(plain, { 'io.kubernetes.cri.sandbox-memory': '51539607552' })).toEqual({
      vcpus: 1,
      memoryMiB: 2048,
    });
  });

  it('a malformed sizing annotation is a ConfigError naming it', () => {
    let err: unknown;
    try {
      staticSandboxSizing(snp, { 'io.kubernetes.cri.sandbox-memory': '48Gi' });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).message).toBe(
      'annotation io.kubernetes.cri.sandbox-memory: expected an integer, got "48Gi"',
    );
    expect((err as ConfigError).where).toEqual({ annotation: 'io.kubernetes.cri.sandbox-memory' });
  });
});

describe('resolveConfigPath', () => {
  const dir = tempConfigDir({ 'a.toml': MINIMAL, 'b.toml': MINIMAL, 'c.toml': MINIMAL, 'etc.toml': MINIMAL });
  const a = path.join(dir, 'a.toml');
  const b = path.join(dir, 'b.toml');
  const c = path.join(dir, 'c.toml');
  const etc = path.join(dir, 'etc.toml');

  it('ConfigPath option → CCGPU_CONF_FILE → KATA_CONF_FILE → /etc/ccgpu → shipped', () => {
    const env = { CCGPU_CONF_FILE: b, KATA_CONF_FILE: c };
    expect(resolveConfigPath({ configPath: a, env, etcPath: etc })).toEqual({ path: a, source: 'option' });
    expect(resolveConfigPath({ env, etcPath: etc })).toEqual({ path: b, source: 'CCGPU_CONF_FILE' });
    expect(resolveConfigPath({ env: { KATA_CONF_FILE: c }, etcPath: etc })).toEqual({
      path: c,
      source: 'KATA_CONF_FILE',
    });
    expect(resolveConfigPath({ env: {}, etcPath: etc })).toEqual({ path: etc, source: 'etc' });
    expect(resolveConfigPath({ env: {}, etcPath: path.join(dir, 'missing.toml') })).toEqual({
      path: shipped('qemu-nvidia-gpu-snp'),
      source: 'shipped',
    });
  });

  it('an explicitly named file that does not exist is an error, not a silent fallback', () => {
    expect(() => resolveConfigPath({ configPath: path.join(dir, 'nope.toml'), env: {}, etcPath: etc })).toThrow(
      `configuration file ${path.join(dir, 'nope.toml')} (from the ConfigPath option) does not exist`,
    );
    expect(() => resolveConfigPath({ env: { KATA_CONF_FILE: '/nonexistent/x.toml' }, etcPath: etc })).toThrow(
      '(from $KATA_CONF_FILE) does not exist',
    );
  });

  it('loadConfig resolves and loads', () => {
    expect(loadConfig({ env: {}, etcPath: path.join(dir, 'missing.toml') }).config.hypervisor.sevSnpGuest).toBe(true);
    expect(loadConfig({ configPath: a, env: {} }).file).toBe(a);
  });
});

describe('loadSandboxConfig', () => {
  it('loads the resolved file and applies the pod annotations', async () => {
    const { loadSandboxConfig } = await import('../../../src/config/index.js');
    const f = tempConfig(`${MINIMAL}enable_annotations = ["default_memory"]\n`);
    const l = loadSandboxConfig({
      configPath: f,
      env: {},
      annotations: { 'io.katacontainers.config.hypervisor.default_memory': '4096' },
    });
    expect(l.config.hypervisor.defaultMemory).toBe(4096);
    expect(() =>
      loadSandboxConfig({
        configPath: f,
        env: {},
        annotations: { 'io.katacontainers.config.hypervisor.default_vcpus': '4' },
      }),
    ).toThrow(
      `annotation io.katacontainers.config.hypervisor.default_vcpus is not enabled (add "default_vcpus" to [hypervisor.qemu] enable_annotations, set by file ${f}, to allow it)`,
    );
  });
});
