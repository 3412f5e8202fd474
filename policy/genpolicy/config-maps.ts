/**
 * ConfigMaps and Secrets (inline documents or `--config-file`s), for `env.valueFrom`, `envFrom` and volumes.
 * A reference to a ConfigMap/Secret that was not supplied fails generation (unless marked optional).
 */
import { GenpolicyError } from './errors.js';

interface Source {
  readonly data: Record<string, string>;
}

export class ConfigObjects {
  private readonly configMaps = new Map<string, Source>();
  private readonly secrets = new Map<string, Source>();

  add(obj: Record<string, unknown>, file: string): void {
    const kind = obj.kind;
    const name = (obj.metadata as { name?: unknown } | undefined)?.name;
    if (typeof name !== 'string' || !name)
      throw new GenpolicyError(`${file}: ${String(kind)} without metadata.name`, { file });
    const data: Record<string, string> = {};
    const check = (m: unknown, field: string): Record<string, unknown> => {
      if (m === undefined || m === null) return {};
      if (typeof m !== 'object' || Array.isArray(m))
        throw new GenpolicyError(`${file}: ${String(kind)} "${name}".${field} must be a map`, { file, field });
      return m as Record<string, unknown>;
    };
    if (kind === 'ConfigMap') {
      for (const [k, v] of Object.entries(check(obj.data, 'data'))) data[k] = String(v);
      for (const [k, v] of Object.entries(check(obj.binaryData, 'binaryData')))
        data[k] = Buffer.from(String(v), 'base64').toString('utf8');
      this.configMaps.set(name, { data });
    } else if (kind === 'Secret') {
      for (const [k, v] of Object.entries(check(obj.data, 'data')))
        data[k] = Buffer.from(String(v), 'base64').toString('utf8');
      for (const [k, v] of Object.entries(check(obj.stringData, 'stringData'))) data[k] = String(v);
      this.secrets.set(name, { data });
    } else {
      throw new GenpolicyError(`${file}: expected a ConfigMap or Secret, got kind ${JSON.stringify(kind)}`, { file });
    }
  }

  private table(kind: 'ConfigMap' | 'Secret'): Map<string, Source> {
    return kind === 'ConfigMap' ? this.configMaps : this.secrets;
  }

  /** The named source; undefined only when `optional` and missing. */
  private source(kind: 'ConfigMap' | 'Secret', name: string, optional: boolean, where: string): Source | undefined {
    const src = this.table(kind).get(name);
    if (!src && !optional)
      throw new GenpolicyError(
        `${where}: ${kind} "${name}" was not supplied (add it to the YAML or pass it with --config-file)`,
        { field: where },
      );
    return src;
  }

  /** Value of one key; undefined only when `optional` and missing. */
  value(kind: 'ConfigMap' | 'Secret', name: string, key: string, optional: boolean, where: string): string | undefined {
    const src = this.source(kind, name, optional, where);
    if (!src) return undefined;
    const v = src.data[key];
    if (v === undefined && !optional)
      throw new GenpolicyError(`${where}: ${kind} "${name}" has no key "${key}"`, { field: where });
    return v;
  }

  /** All entries (sorted by key, as kubelet does); undefined only when `optional` and missing. */
  entries(
    kind: 'ConfigMap' | 'Secret',
    name: string,
    optional: boolean,
    where: string,
  ): [string, string][] | undefined {
    const src = this.source(kind, name, optional, where);
    if (!src) return undefined;
    return Object.entries(src.data).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  }

  has(kind: 'ConfigMap' | 'Secret', name: string): boolean {
    return this.table(kind).has(name);
  }
}
