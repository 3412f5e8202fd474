/**
 * Cache of what each layer says about /etc/passwd and /etc/group, keyed by diff_id (content-addressed, so an
 * entry can never be stale). Optionally persisted as JSON (genpolicy's `-u` / `--layers-cache-file-path`).
 */
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import type { LayerFileState } from '../oci/index.js';
import { DIGEST_PATTERN } from '../oci/index.js';
import { GenpolicyError } from './errors.js';

export type LayerFiles = Readonly<Record<string, LayerFileState>>;

interface CacheFile {
  version: 1;
  layers: Record<string, LayerFiles>;
}

export class LayersCache {
  private readonly entries = new Map<string, LayerFiles>();
  private dirty = false;

  constructor(private readonly file?: string) {
    if (!file) return;
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw new GenpolicyError(`cannot read layers cache ${file}: ${(e as Error).message}`, { file });
    }
    let doc: CacheFile;
    try {
      doc = JSON.parse(text) as CacheFile;
    } catch (e) {
      throw new GenpolicyError(`layers cache ${file} is not valid JSON: ${(e as Error).message}`, { file });
    }
    if (doc?.version !== 1 || typeof doc.layers !== 'object' || doc.layers === null) {
      throw new GenpolicyError(`layers cache ${file}: expected {"version": 1, "layers": {...}}`, { file });
    }
    for (const [id, files] of Object.entries(doc.layers)) {
      if (!DIGEST_PATTERN.test(id))
        throw new GenpolicyError(`layers cache ${file}: key "${id}" is not a diff_id`, { file });
      this.entries.set(id, files);
    }
  }

  get(diffId: string): LayerFiles | undefined {
    return this.entries.get(diffId);
  }

  set(diffId: string, files: LayerFiles): void {
    this.entries.set(diffId, files);
    this.dirty = true;
  }

  get size(): number {
    return this.entries.size;
  }

  /** Writes the cache file (atomically) if anything changed. */
  save(): void {
    if (!this.file || !this.dirty) return;
    const doc: CacheFile = {
      version: 1,
      layers: Object.fromEntries([...this.entries].sort(([a], [b]) => a.localeCompare(b))),
    };
    const tmp = `${this.file}.tmp-${process.pid}`;
    writeFileSync(tmp, JSON.stringify(doc, null, 1));
    renameSync(tmp, this.file);
    this.dirty = false;
  }
}
