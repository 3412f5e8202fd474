/** ttrpc request metadata: a multimap with lower-cased keys, and the containerd namespace helper. */
import type { KeyValue } from './wire.js';

/** Metadata key containerd uses to pass the namespace on ttrpc calls. */
export const NAMESPACE_METADATA_KEY = 'containerd-namespace-ttrpc';

export type MetadataInit = Record<string, string | readonly string[]> | Iterable<readonly [string, string]>;

export class Metadata {
  private readonly map = new Map<string, string[]>();

  constructor(init?: MetadataInit) {
    if (!init) return;
    const entries: Iterable<readonly [string, string | readonly string[]]> =
      Symbol.iterator in Object(init) ? (init as Iterable<readonly [string, string]>) : Object.entries(init);
    for (const [k, v] of entries) {
      if (typeof v === 'string') this.append(k, v);
      else for (const x of v) this.append(k, x);
    }
  }

  static fromKeyValues(kvs: readonly KeyValue[]): Metadata {
    const m = new Metadata();
    for (const kv of kvs) m.append(kv.key, kv.value);
    return m;
  }

  append(key: string, value: string): void {
    const k = key.toLowerCase();
    const list = this.map.get(k);
    if (list) list.push(value);
    else this.map.set(k, [value]);
  }

  set(key: string, value: string): void {
    this.map.set(key.toLowerCase(), [value]);
  }

  /** All values for a key (case-insensitive). */
  getAll(key: string): string[] {
    return [...(this.map.get(key.toLowerCase()) ?? [])];
  }

  /** First value for a key (case-insensitive). */
  get(key: string): string | undefined {
    return this.map.get(key.toLowerCase())?.[0];
  }

  has(key: string): boolean {
    return this.map.has(key.toLowerCase());
  }

  keys(): string[] {
    return [...this.map.keys()];
  }

  toKeyValues(): KeyValue[] {
    const out: KeyValue[] = [];
    for (const [key, values] of this.map) for (const value of values) out.push({ key, value });
    return out;
  }
}
