/**
 * Deep merge of TOML documents with provenance: tables merge key by key (recursively), every other value (scalars
 * and arrays) is replaced as a whole by the later document. Each leaf remembers which file set it last.
 */
import type { TomlTable, TomlValue } from 'smol-toml';

export interface MergeOrigin {
  file: string;
  kind: 'file' | 'drop-in';
}

export interface MergedDocument {
  doc: TomlTable;
  /** Dotted key path of every leaf → the file that set it last. */
  origins: Map<string, MergeOrigin>;
}

export function isTable(v: unknown): v is TomlTable {
  if (typeof v !== 'object' || v === null || Array.isArray(v) || v instanceof Date) return false;
  const proto = Object.getPrototypeOf(v) as unknown;
  return proto === Object.prototype || proto === null;
}

function mergeInto(
  target: TomlTable,
  src: TomlTable,
  prefix: string,
  origin: MergeOrigin,
  origins: Map<string, MergeOrigin>,
): void {
  for (const [k, v] of Object.entries(src)) {
    const p = prefix ? `${prefix}.${k}` : k;
    const cur = target[k];
    if (isTable(v)) {
      const dst: TomlTable = isTable(cur) ? cur : {};
      if (!isTable(cur)) {
        // A table replacing a scalar: forget the scalar's origin.
        origins.delete(p);
      }
      target[k] = dst;
      mergeInto(dst, v, p, origin, origins);
    } else {
      if (isTable(cur)) {
        for (const key of [...origins.keys()]) if (key.startsWith(`${p}.`)) origins.delete(key);
      }
      target[k] = cloneValue(v);
      origins.set(p, origin);
    }
  }
}

function cloneValue(v: TomlValue): TomlValue {
  if (Array.isArray(v)) return v.map(cloneValue) as TomlValue;
  if (isTable(v)) {
    const o: TomlTable = {};
    for (const [k, x] of Object.entries(v)) o[k] = cloneValue(x);
    return o;
  }
  return v;
}

/** Merges `layers` in order (first = base file). Inputs are not modified. */
export function mergeDocuments(layers: { doc: TomlTable; origin: MergeOrigin }[]): MergedDocument {
  const doc: TomlTable = {};
  const origins = new Map<string, MergeOrigin>();
  for (const l of layers) mergeInto(doc, l.doc, '', l.origin, origins);
  return { doc, origins };
}
