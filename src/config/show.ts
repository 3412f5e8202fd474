/**
 * The effective configuration as `table.key = value    # source` lines (and as JSON), for `ccgpu config show`.
 */
import { checkInitdataAnnotation } from './initdata-check.js';
import { describeSource } from './provenance.js';
import { keyPath, KEYS_BY_TABLE, TABLES } from './schema.js';
import { renderValue } from './decode.js';
import type { LoadedConfig, ValueSource } from './types.js';

export interface EffectiveValue {
  /** `hypervisor.qemu.default_memory` */
  key: string;
  /** `undefined` for an optional key that is not set. */
  value: unknown;
  source: ValueSource;
}

export function effectiveValues(loaded: LoadedConfig): EffectiveValue[] {
  const out: EffectiveValue[] = [];
  const sections = {
    'hypervisor.qemu': loaded.config.hypervisor as unknown as Record<string, unknown>,
    'agent.kata': loaded.config.agent as unknown as Record<string, unknown>,
    runtime: loaded.config.runtime as unknown as Record<string, unknown>,
  };
  for (const table of TABLES) {
    for (const spec of KEYS_BY_TABLE[table]) {
      const key = keyPath(table, spec.key);
      out.push({ key, value: sections[table][spec.field], source: loaded.sources.get(key) ?? { kind: 'default' } });
    }
  }
  const initdata = loaded.config.hypervisor.ccInitData;
  if (initdata !== undefined) {
    const key = keyPath('hypervisor.qemu', 'cc_init_data');
    out.push({ key, value: initdata, source: loaded.sources.get(key) ?? { kind: 'default' } });
  }
  return out;
}

function displayValue(e: EffectiveValue): string {
  if (e.value === undefined) return '(unset)';
  if (e.key.endsWith('.cc_init_data') && typeof e.value === 'string') {
    // Long and opaque: show what it is, not the blob.
    try {
      const s = checkInitdataAnnotation(e.value);
      return `(initdata: version ${s.version}, algorithm ${s.algorithm}, ${s.tomlBytes} bytes of TOML)`;
    } catch {
      return '(initdata)';
    }
  }
  return renderValue(e.value);
}

/** Text form: a header naming the files, then one aligned line per key. */
export function formatEffectiveConfig(loaded: LoadedConfig, opts: { resolvedFrom?: string } = {}): string {
  const values = effectiveValues(loaded);
  const lines = values.map((e) => [`${e.key} = ${displayValue(e)}`, describeSource(e.source)] as const);
  const width = Math.min(90, Math.max(...lines.map(([l]) => l.length)));
  const header = [
    `# configuration: ${loaded.file}${opts.resolvedFrom ? ` (from ${opts.resolvedFrom})` : ''}`,
    `# drop-ins: ${loaded.dropIns.length ? loaded.dropIns.join(', ') : '(none)'}`,
  ];
  return [...header, ...lines.map(([l, s]) => `${l.padEnd(width)}    # ${s}`)].join('\n') + '\n';
}

export function effectiveConfigJson(loaded: LoadedConfig): Record<string, unknown> {
  return {
    file: loaded.file,
    dropIns: loaded.dropIns,
    warnings: loaded.warnings,
    values: effectiveValues(loaded).map((e) => ({ key: e.key, value: e.value ?? null, source: e.source })),
    config: loaded.config,
  };
}
