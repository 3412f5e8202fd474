import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { applyAnnotations, effectiveValues, formatEffectiveConfig, loadConfigFile } from '../../../src/config/index.js';
import { run } from '../../../src/cli/commands/config.js';
import { MINIMAL, tempConfig } from './helpers.js';

function capture(): { out: () => string; err: () => string } {
  let out = '';
  let err = '';
  vi.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => ((out += String(s)), true));
  vi.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => ((err += String(s)), true));
  return { out: () => out, err: () => err };
}

afterEach(() => vi.restoreAllMocks());

const BASE = `${MINIMAL}default_memory = 4096\nenable_annotations = ["default_vcpus"]\n`;

describe('effective configuration with provenance', () => {
  it('names default, base file, drop-in and annotation for each value', () => {
    const f = tempConfig(BASE, { '10-debug.toml': '[runtime]\nenable_debug = true\n' });
    const dropIn = path.join(path.dirname(f), 'config.d', '10-debug.toml');
    const loaded = applyAnnotations(loadConfigFile(f), { 'io.katacontainers.config.hypervisor.default_vcpus': '4' });
    const text = formatEffectiveConfig(loaded);
    const line = (k: string): string => text.split('\n').find((l) => l.startsWith(`${k} = `)) ?? '';
    expect(line('hypervisor.qemu.default_memory')).toMatch(
      new RegExp(`^hypervisor\\.qemu\\.default_memory = 4096 +# file ${f}$`),
    );
    expect(line('runtime.enable_debug')).toMatch(new RegExp(`= true +# drop-in ${dropIn}$`));
    expect(line('hypervisor.qemu.default_vcpus')).toMatch(
      /= 4 +# annotation io\.katacontainers\.config\.hypervisor\.default_vcpus$/,
    );
    expect(line('hypervisor.qemu.enable_numa')).toMatch(/= false +# default$/);
    expect(line('hypervisor.qemu.snp_guest_policy')).toMatch(/= \(unset\) +# default$/);
    expect(text.split('\n')[1]).toBe(`# drop-ins: ${dropIn}`);
    // One line per key of every table.
    expect(effectiveValues(loaded).map((v) => v.key)).toContain('agent.kata.agent_transport');
  });
});

describe('ccgpu config show', () => {
  it('prints every key with its source', async () => {
    const f = tempConfig(BASE);
    const io = capture();
    expect(
      await run(['show', '--config', f, '--annotation', 'io.katacontainers.config.hypervisor.default_vcpus=2']),
    ).toBe(0);
    expect(io.out()).toContain(`# configuration: ${f} (from option)`);
    expect(io.out()).toMatch(
      /hypervisor\.qemu\.default_vcpus = 2 +# annotation io\.katacontainers\.config\.hypervisor\.default_vcpus/,
    );
    expect(io.out()).toMatch(/runtime\.cdi_spec_dirs = \["\/etc\/cdi", "\/var\/run\/cdi"\] +# default/);
  });

  it('--json gives values with sources and the typed config', async () => {
    const f = tempConfig(BASE);
    const io = capture();
    expect(await run(['show', '--config', f, '--json'])).toBe(0);
    const j = JSON.parse(io.out()) as {
      file: string;
      values: { key: string; value: unknown; source: unknown }[];
      config: { hypervisor: { defaultMemory: number } };
    };
    expect(j.file).toBe(f);
    expect(j.config.hypervisor.defaultMemory).toBe(4096);
    expect(j.values.find((v) => v.key === 'hypervisor.qemu.default_memory')).toEqual({
      key: 'hypervisor.qemu.default_memory',
      value: 4096,
      source: { kind: 'file', file: f },
    });
  });

  it('a refused annotation: exit 1 and one clear error line', async () => {
    const f = tempConfig(BASE);
    const io = capture();
    expect(
      await run(['show', '--config', f, '--annotation', 'io.katacontainers.config.hypervisor.cc_init_data=x']),
    ).toBe(1);
    expect(io.err().trim().split('\n')).toHaveLength(1);
    expect(io.err()).toContain('annotation io.katacontainers.config.hypervisor.cc_init_data is not enabled');
  });

  it('warnings go to stderr; usage errors exit 2', async () => {
    const f = tempConfig(`${BASE}bogus_key = 1\n`);
    const io = capture();
    expect(await run(['show', '--config', f])).toBe(0);
    expect(io.err()).toBe(`warning: ${f}: [hypervisor.qemu] unknown key bogus_key ignored\n`);
    expect(await run(['show', '--annotation', 'novalue'])).toBe(2);
    expect(await run(['frobnicate'])).toBe(2);
  });
});

describe('ccgpu config show --flavour', () => {
  it('shows a shipped flavour; an unknown flavour is a usage error', async () => {
    const io = capture();
    expect(await run(['show', '--flavour', 'qemu-nvidia-gpu-tdx'])).toBe(0);
    expect(io.out()).toMatch(
      /hypervisor\.qemu\.firmware = "\/opt\/ccgpu\/share\/ovmf\/OVMF\.inteltdx\.fd" +# file .*configuration-qemu-nvidia-gpu-tdx\.toml/,
    );
    expect(io.err()).toBe('');
    expect(await run(['show', '--flavour', 'qemu-sev'])).toBe(2);
    expect(io.err()).toContain('unknown flavour "qemu-sev"');
  });
});
