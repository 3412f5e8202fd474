import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../src/errors/index.js';
import { defaultRuntimeConfig, loadConfigFile } from '../../../src/config/index.js';
import { MINIMAL, tempConfig } from './helpers.js';

function loadError(file: string): ConfigError {
  try {
    loadConfigFile(file);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return e as ConfigError;
  }
  throw new Error(`expected ${file} to fail`);
}

describe('loading TOML', () => {
  it('fills defaults for absent keys and records them as default', () => {
    const f = tempConfig(MINIMAL);
    const loaded = loadConfigFile(f);
    expect(loaded.config.hypervisor.path).toBe('/usr/bin/qemu-system-x86_64');
    expect(loaded.config.hypervisor.defaultMemory).toBe(2048);
    expect(loaded.config.hypervisor.hotPlugVfio).toBe('no-port');
    expect(loaded.config.hypervisor.snpGuestPolicy).toBeUndefined();
    expect(loaded.config.agent.agentTransport).toBe('vsock');
    expect(loaded.config.runtime.cdiSpecDirs).toEqual(['/etc/cdi', '/var/run/cdi']);
    expect(loaded.sources.get('hypervisor.qemu.path')).toEqual({ kind: 'file', file: f });
    expect(loaded.sources.get('hypervisor.qemu.default_memory')).toEqual({ kind: 'default' });
    expect(loaded.warnings).toEqual([]);
  });

  it('defaultRuntimeConfig has every field and mirrors runtime/agent values into the hypervisor section', () => {
    const d = defaultRuntimeConfig();
    expect(d.hypervisor.disableGuestSeccomp).toBe(d.runtime.disableGuestSeccomp);
    expect(d.hypervisor.accel).toBe('kvm');
    expect(d.runtime.createContainerTimeout).toBe(60);
  });

  it('malformed TOML: one error naming the file, line and column', () => {
    const f = tempConfig(`[hypervisor.qemu]\npath = "/usr/bin/qemu"\nkernel = "/boot/vmlinuz\n`);
    const e = loadError(f);
    expect(e.message).toMatch(new RegExp(`^${f.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:3:\\d+: malformed TOML`));
    expect(e.where.file).toBe(f);
  });

  it('a missing file is a clear error', () => {
    const e = loadError('/nonexistent/ccgpu/configuration.toml');
    expect(e.message).toBe('cannot read configuration file /nonexistent/ccgpu/configuration.toml: no such file');
  });

  it('a wrong type names file, table, key and the expected type', () => {
    const f = tempConfig(`${MINIMAL}default_memory = "8G"\n`);
    const e = loadError(f);
    expect(e.message).toBe(
      `${f}: [hypervisor.qemu] default_memory = "8G": expected an integer between 0 and 4294967295, got a string`,
    );
    expect(e.where).toEqual({ file: f, table: 'hypervisor.qemu', key: 'default_memory' });
  });

  it('a bad enum value lists the allowed values', () => {
    const f = tempConfig(`${MINIMAL}cold_plug_vfio = "pcie-port"\n`);
    expect(loadError(f).message).toBe(
      `${f}: [hypervisor.qemu] cold_plug_vfio = "pcie-port": expected one of "no-port", "root-port", "switch-port", "bridge-port", got a string "pcie-port"`,
    );
  });

  it('unknown keys warn with file, table, key and the closest known key', () => {
    const f = tempConfig(
      `${MINIMAL}defualt_memory = 4096\n[agent.kata]\ndial_timout = 3\n[runtime]\ntotally_new = 1\n`,
    );
    const loaded = loadConfigFile(f);
    expect(loaded.warnings).toEqual([
      `${f}: [hypervisor.qemu] unknown key defualt_memory ignored (did you mean default_memory?)`,
      `${f}: [agent.kata] unknown key dial_timout ignored (did you mean dial_timeout?)`,
      `${f}: [runtime] unknown key totally_new ignored`,
    ]);
    expect(loaded.config.hypervisor.defaultMemory).toBe(2048);
  });

  it('unknown tables and other hypervisors warn; [factory] and [image] are ignored silently', () => {
    const f = tempConfig(
      `${MINIMAL}[hypervisor.clh]\npath = "/x"\n[factory]\ntemplate = false\n[image]\nservice_offload = false\n[runtim]\nx = 1\n`,
    );
    const loaded = loadConfigFile(f);
    expect(loaded.warnings).toEqual([
      `${f}: unknown table [runtim] ignored (did you mean [runtime]?)`,
      `${f}: [hypervisor.clh] ignored: ccgpu only supports [hypervisor.qemu]`,
    ]);
  });

  it('no [hypervisor.qemu] table is an error', () => {
    const f = tempConfig(`[runtime]\nenable_debug = true\n`);
    expect(loadError(f).message).toBe(
      `${f}: no [hypervisor.qemu] table: ccgpu needs the QEMU hypervisor configuration`,
    );
  });

  it('Kata keys ccgpu does not implement: silent at Kata default, warning otherwise, error for rootless', () => {
    const ok = loadConfigFile(tempConfig(`${MINIMAL}rootless = false\nmsize_9p = 8192\nenable_iothreads = false\n`));
    expect(ok.warnings).toEqual([]);
    const f = tempConfig(`${MINIMAL}enable_iothreads = true\n`);
    expect(loadConfigFile(f).warnings).toEqual([
      `${f}: [hypervisor.qemu] enable_iothreads: not implemented by ccgpu; only false is supported; the value is ignored`,
    ]);
    const r = tempConfig(`${MINIMAL}rootless = true\n`);
    expect(loadError(r).message).toBe(
      `${r}: [hypervisor.qemu] rootless: rootless QEMU is not supported by ccgpu; only false is supported`,
    );
  });

  it('never puts a compat secret value in a warning', () => {
    const f = tempConfig(`${MINIMAL}[runtime]\njaeger_password = "hunter2"\n`);
    const w = loadConfigFile(f).warnings.join('\n');
    expect(w).toContain('jaeger_password');
    expect(w).not.toContain('hunter2');
  });
});

describe('config.d drop-ins', () => {
  const base = `${MINIMAL}default_memory = 4096\nkernel_params = "a=1"\nenable_annotations = ["kernel_params"]\n[agent.kata]\ndial_timeout = 100\n[runtime]\nenable_debug = false\n`;

  it('applies *.toml in name order, later wins, deep merge per table, arrays replaced', () => {
    const f = tempConfig(base, {
      '20-memory.toml': '[hypervisor.qemu]\ndefault_memory = 8192\nenable_annotations = ["default_memory"]\n',
      '10-memory.toml': '[hypervisor.qemu]\ndefault_memory = 6144\ndefault_vcpus = 2\n',
      '30-debug.toml': '[runtime]\nenable_debug = true\n',
      'README.md': 'not a drop-in',
      '99-disabled.toml.bak': '[hypervisor.qemu]\ndefault_memory = 1\n',
    });
    const dir = path.join(path.dirname(f), 'config.d');
    const loaded = loadConfigFile(f);
    expect(loaded.dropIns).toEqual([
      path.join(dir, '10-memory.toml'),
      path.join(dir, '20-memory.toml'),
      path.join(dir, '30-debug.toml'),
    ]);
    const c = loaded.config;
    expect(c.hypervisor.defaultMemory).toBe(8192);
    expect(c.hypervisor.defaultVcpus).toBe(2);
    expect(c.hypervisor.kernelParams).toBe('a=1');
    expect(c.hypervisor.enableAnnotations).toEqual(['default_memory']);
    expect(c.agent.dialTimeout).toBe(100);
    expect(c.runtime.enableDebug).toBe(true);
    expect(loaded.sources.get('hypervisor.qemu.default_memory')).toEqual({
      kind: 'drop-in',
      file: path.join(dir, '20-memory.toml'),
    });
    expect(loaded.sources.get('hypervisor.qemu.default_vcpus')).toEqual({
      kind: 'drop-in',
      file: path.join(dir, '10-memory.toml'),
    });
    expect(loaded.sources.get('hypervisor.qemu.kernel_params')).toEqual({ kind: 'file', file: f });
    expect(loaded.sources.get('runtime.enable_debug')).toEqual({
      kind: 'drop-in',
      file: path.join(dir, '30-debug.toml'),
    });
    expect(loaded.sources.get('hypervisor.qemu.enable_debug')).toEqual({ kind: 'default' });
  });

  it('noDropIns skips config.d', () => {
    const f = tempConfig(base, { '10.toml': '[hypervisor.qemu]\ndefault_memory = 6144\n' });
    expect(loadConfigFile(f, { noDropIns: true }).config.hypervisor.defaultMemory).toBe(4096);
  });

  it('errors and warnings in a drop-in name the drop-in', () => {
    const bad = tempConfig(base, { '10.toml': '[hypervisor.qemu]\ndefault_memory = true\n' });
    const dropIn = path.join(path.dirname(bad), 'config.d', '10.toml');
    expect(() => loadConfigFile(bad)).toThrow(
      `${dropIn}: [hypervisor.qemu] default_memory = true: expected an integer`,
    );
    const malformed = tempConfig(base, { '10.toml': '[hypervisor.qemu\n' });
    expect(() => loadConfigFile(malformed)).toThrow(`${path.join(path.dirname(malformed), 'config.d', '10.toml')}:1:`);
    const unknown = tempConfig(base, { '10.toml': '[agent.kata]\nfoo = 1\n' });
    expect(loadConfigFile(unknown).warnings).toEqual([
      `${path.join(path.dirname(unknown), 'config.d', '10.toml')}: [agent.kata] unknown key foo ignored`,
    ]);
  });

  it('a validation error caused by a drop-in names the drop-in', () => {
    const f = tempConfig(`${MINIMAL}cold_plug_vfio = "root-port"\n`, {
      '50.toml': '[hypervisor.qemu]\nhot_plug_vfio = "root-port"\n',
    });
    const e = (() => {
      try {
        loadConfigFile(f);
      } catch (x) {
        return x as ConfigError;
      }
      throw new Error('expected failure');
    })();
    expect(e.message).toContain('hot_plug_vfio = "root-port" and cold_plug_vfio = "root-port" cannot both be set');
    expect(e.message.startsWith(`${f}: [hypervisor.qemu] cold_plug_vfio`)).toBe(true);
  });
});
