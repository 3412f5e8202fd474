/**
 * Merged TOML document → typed `RuntimeConfig`: type checks every known key (ConfigError naming file, table, key and
 * the expected type), warns about unknown keys (naming the closest known key), accepts Kata keys ccgpu does not
 * implement when they keep Kata's default, and records where every value came from.
 */
import type { TomlTable } from 'smol-toml';
import { ConfigError } from '../errors/index.js';
import type { MergedDocument } from './merge.js';
import { isTable } from './merge.js';
import {
  COMPAT_KEYS,
  describeType,
  IGNORED_TOP_LEVEL,
  KEYS_BY_TABLE,
  keyPath,
  TABLES,
  type KeySpec,
  type TableName,
  type ValueType,
} from './schema.js';
import { closestKey } from './suggest.js';
import type { AgentConfig, QemuConfig, RuntimeConfig, RuntimeSection, ValueSource } from './types.js';

export interface DecodedConfig {
  config: RuntimeConfig;
  sources: Map<string, ValueSource>;
  warnings: string[];
}

/** Renders a value the way it would be written in TOML (for messages). */
export function renderValue(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(renderValue).join(', ')}]`;
  if (v instanceof Date) return v.toISOString();
  if (isTable(v)) return '{ ... }';
  return String(v);
}

function typeOf(v: unknown): string {
  if (Array.isArray(v)) return 'an array';
  if (isTable(v)) return 'a table';
  if (v instanceof Date) return 'a date';
  if (typeof v === 'number' && !Number.isInteger(v)) return 'a float';
  if (typeof v === 'number') return 'an integer';
  return `a ${typeof v}`;
}

/** True when `v` has type `t`. */
export function matchesType(v: unknown, t: ValueType): boolean {
  switch (t.kind) {
    case 'string':
      return typeof v === 'string';
    case 'bool':
      return typeof v === 'boolean';
    case 'uint':
      return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 && (t.max === undefined || v <= t.max);
    case 'strings':
      return Array.isArray(v) && v.every((x) => typeof x === 'string');
    case 'enum':
      return typeof v === 'string' && t.values.includes(v);
  }
}

export function defaultValue(spec: KeySpec): unknown {
  const d = spec.default;
  return Array.isArray(d) ? [...(d as unknown[])] : d;
}

/** The configuration with every key at its default (no file). */
export function defaultRuntimeConfig(): RuntimeConfig {
  const section = (table: TableName): Record<string, unknown> => {
    const o: Record<string, unknown> = {};
    for (const spec of KEYS_BY_TABLE[table]) if (!spec.optional) o[spec.field] = defaultValue(spec);
    return o;
  };
  const agent = section('agent.kata') as unknown as AgentConfig;
  const runtime = section('runtime') as unknown as RuntimeSection;
  const hypervisor = section('hypervisor.qemu') as unknown as QemuConfig;
  hypervisor.disableGuestSeccomp = runtime.disableGuestSeccomp;
  hypervisor.kernelModules = [...agent.kernelModules];
  return { hypervisor, agent, runtime };
}

function tableAt(doc: TomlTable, table: TableName): TomlTable | undefined {
  let cur: unknown = doc;
  for (const part of table.split('.')) {
    if (!isTable(cur)) return undefined;
    cur = cur[part];
  }
  return isTable(cur) ? cur : undefined;
}

/** Decodes a merged document. `files` names the base file (for errors about the whole document). */
export function decodeDocument(merged: MergedDocument, baseFile: string): DecodedConfig {
  const { doc, origins } = merged;
  const warnings: string[] = [];
  const sources = new Map<string, ValueSource>();
  const fileOf = (p: string): string => origins.get(p)?.file ?? baseFile;

  // Top-level tables.
  const knownTop = ['hypervisor', 'agent', 'runtime', ...IGNORED_TOP_LEVEL];
  for (const [k, v] of Object.entries(doc)) {
    if ((IGNORED_TOP_LEVEL as readonly string[]).includes(k)) continue;
    if (!knownTop.includes(k)) {
      const hint = closestKey(k, knownTop);
      warnings.push(
        `${fileOf(k)}: unknown ${isTable(v) ? 'table' : 'key'} [${k}] ignored${hint ? ` (did you mean [${hint}]?)` : ''}`,
      );
      continue;
    }
    if (!isTable(v)) {
      throw new ConfigError(`${fileOf(k)}: ${k} must be a table ([${k}...]), got ${typeOf(v)}`, {
        file: fileOf(k),
        key: k,
      });
    }
  }
  for (const [parent, only] of [
    ['hypervisor', 'qemu'],
    ['agent', 'kata'],
  ] as const) {
    const t = doc[parent];
    if (!isTable(t)) continue;
    for (const [k, v] of Object.entries(t)) {
      if (k === only) {
        if (!isTable(v)) {
          const p = `${parent}.${k}`;
          throw new ConfigError(`${fileOf(p)}: ${p} must be a table ([${p}]), got ${typeOf(v)}`, {
            file: fileOf(p),
            table: p,
          });
        }
        continue;
      }
      const p = `${parent}.${k}`;
      const first = isTable(v) ? Object.keys(v)[0] : undefined;
      const from = first !== undefined ? fileOf(`${p}.${first}`) : fileOf(p);
      warnings.push(
        parent === 'hypervisor'
          ? `${from}: [${p}] ignored: ccgpu only supports [hypervisor.qemu]`
          : `${from}: [${p}] ignored: ccgpu only supports [agent.kata]`,
      );
    }
  }
  if (!tableAt(doc, 'hypervisor.qemu')) {
    throw new ConfigError(`${baseFile}: no [hypervisor.qemu] table: ccgpu needs the QEMU hypervisor configuration`, {
      file: baseFile,
      table: 'hypervisor.qemu',
    });
  }

  const sections: Record<TableName, Record<string, unknown>> = { 'hypervisor.qemu': {}, 'agent.kata': {}, runtime: {} };
  for (const table of TABLES) {
    const specs = KEYS_BY_TABLE[table];
    const compat = COMPAT_KEYS[table];
    const values = tableAt(doc, table) ?? {};
    const out = sections[table];
    for (const spec of specs) {
      if (!spec.optional) out[spec.field] = defaultValue(spec);
      sources.set(keyPath(table, spec.key), { kind: 'default' });
    }
    for (const [key, v] of Object.entries(values)) {
      const p = keyPath(table, key);
      const file = fileOf(p);
      const spec = specs.find((s) => s.key === key);
      if (spec) {
        if (!matchesType(v, spec.type)) {
          throw new ConfigError(
            `${file}: [${table}] ${key} = ${renderValue(v)}: expected ${describeType(spec.type)}, got ${typeOf(v)}${
              spec.type.kind === 'enum' && typeof v === 'string' ? ` ${JSON.stringify(v)}` : ''
            }`,
            { file, table, key },
          );
        }
        out[spec.field] = Array.isArray(v) ? [...v] : v;
        const o = origins.get(p);
        sources.set(p, o ? { kind: o.kind, file: o.file } : { kind: 'file', file });
        continue;
      }
      const c = compat.find((s) => s.key === key);
      if (c) {
        if (c.kataDefault !== undefined && JSON.stringify(v) !== JSON.stringify(c.kataDefault)) {
          const msg = `${file}: [${table}] ${key}: ${c.why}; only ${renderValue(c.kataDefault)} is supported`;
          if (c.onOther === 'error') throw new ConfigError(msg, { file, table, key });
          warnings.push(`${msg}; the value is ignored`);
        }
        continue;
      }
      const hint = closestKey(key, [...specs.map((s) => s.key), ...compat.map((s) => s.key)]);
      warnings.push(`${file}: [${table}] unknown key ${key} ignored${hint ? ` (did you mean ${hint}?)` : ''}`);
    }
  }

  const hypervisor = sections['hypervisor.qemu'] as unknown as QemuConfig;
  const agent = sections['agent.kata'] as unknown as AgentConfig;
  const runtime = sections.runtime as unknown as RuntimeSection;
  // Kata keeps these in [runtime] / [agent.kata]; the QEMU side sees the same values.
  hypervisor.disableGuestSeccomp = runtime.disableGuestSeccomp;
  hypervisor.kernelModules = [...agent.kernelModules];
  return { config: { hypervisor, agent, runtime }, sources, warnings };
}
