/**
 * Naming where a value came from, for error messages and warnings: the file (base or drop-in) with its TOML table
 * and key, the pod annotation, or the built-in default.
 */
import type { ConfigError } from '../errors/index.js';
import type { ValueSource } from './types.js';

export type Where = ConstructorParameters<typeof ConfigError>[1];

/** Splits `hypervisor.qemu.default_memory` into table `hypervisor.qemu` and key `default_memory`. */
export function splitPath(path: string): { table: string; key: string } {
  const i = path.lastIndexOf('.');
  return i < 0 ? { table: '', key: path } : { table: path.slice(0, i), key: path.slice(i + 1) };
}

export class Provenance {
  constructor(readonly sources: Map<string, ValueSource>) {}

  source(path: string): ValueSource {
    return this.sources.get(path) ?? { kind: 'default' };
  }

  where(path: string): NonNullable<Where> {
    const { table, key } = splitPath(path);
    const s = this.source(path);
    if (s.kind === 'annotation') return { annotation: s.annotation, table, key };
    if (s.kind === 'file' || s.kind === 'drop-in') return { file: s.file, table, key };
    return { table, key };
  }

  /** `F: [table] key`, `annotation K` or `[table] key (default)`. */
  label(path: string): string {
    const { table, key } = splitPath(path);
    const s = this.source(path);
    if (s.kind === 'annotation') return `annotation ${s.annotation}`;
    if (s.kind === 'file' || s.kind === 'drop-in') return `${s.file}: [${table}] ${key}`;
    return `[${table}] ${key} (default)`;
  }
}

export function describeSource(s: ValueSource): string {
  switch (s.kind) {
    case 'default':
      return 'default';
    case 'file':
      return `file ${s.file}`;
    case 'drop-in':
      return `drop-in ${s.file}`;
    case 'annotation':
      return `annotation ${s.annotation}`;
  }
}
