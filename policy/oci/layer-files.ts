/**
 * Streams one layer (compressed blob → gunzip → tar reader) and keeps only the regular files asked for, plus
 * the whiteouts that hide them. Nothing else is stored: memory stays flat whatever the layer size. The
 * uncompressed stream is hashed so the layer's diff_id can be checked against the image config.
 */
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import type { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { Parser, type ReadEntry } from 'tar';
import { DigestMismatchError, OciError } from './errors.js';
import type { LayerCompression } from './media-types.js';

/** What one layer says about each wanted path. */
export type LayerFileState =
  | { readonly kind: 'file'; readonly content: string }
  /** Removed in this layer (a `.wh.` whiteout, or an opaque parent directory without the file). */
  | { readonly kind: 'deleted' }
  /** Present but not a regular file (symlink, directory...); treated as unusable. */
  | { readonly kind: 'other'; readonly type: string };

export interface LayerScan {
  /** Uncompressed sha256 (the layer's diff_id). */
  readonly diffId: string;
  /** Wanted path (no leading slash, e.g. `etc/passwd`) → state; absent = the layer does not touch it. */
  readonly files: Readonly<Record<string, LayerFileState>>;
}

export interface ScanOptions {
  readonly compression: LayerCompression;
  /** Paths without leading slash, e.g. ["etc/passwd", "etc/group"]. */
  readonly wanted: readonly string[];
  /** If given, the uncompressed stream must hash to it. */
  readonly expectedDiffId?: string;
  /** Largest wanted file kept (bytes); default 4 MiB. */
  readonly maxFileBytes?: number;
  readonly what?: string;
}

/** `./etc/passwd`, `/etc/passwd`, `etc//passwd` → `etc/passwd`. */
export function normaliseTarPath(p: string): string {
  return p
    .split('/')
    .filter((c) => c !== '' && c !== '.')
    .join('/');
}

export async function scanLayer(blob: Readable, opts: ScanOptions): Promise<LayerScan> {
  const what = opts.what ?? 'layer';
  if (opts.compression === 'zstd') throw new OciError(`${what}: zstd-compressed layers are not supported`);
  const maxBytes = opts.maxFileBytes ?? 4 * 1024 * 1024;
  const wanted = new Set(opts.wanted.map(normaliseTarPath));
  const wantedDirs = new Set([...wanted].map((w) => w.slice(0, Math.max(0, w.lastIndexOf('/')))));
  const files: Record<string, LayerFileState> = {};
  const opaque = new Set<string>();
  const pending: Promise<void>[] = [];
  let failure: Error | undefined;

  const parser = new Parser({
    strict: true,
    onReadEntry: (entry: ReadEntry) => {
      const p = normaliseTarPath(entry.path);
      const slash = p.lastIndexOf('/');
      const dir = slash >= 0 ? p.slice(0, slash) : '';
      const base = slash >= 0 ? p.slice(slash + 1) : p;
      if (base === '.wh..wh..opq') {
        if (wantedDirs.has(dir)) opaque.add(dir);
        entry.resume();
        return;
      }
      if (base.startsWith('.wh.')) {
        const target = dir ? `${dir}/${base.slice(4)}` : base.slice(4);
        if (wanted.has(target)) files[target] = { kind: 'deleted' };
        entry.resume();
        return;
      }
      if (!wanted.has(p)) {
        entry.resume();
        return;
      }
      if (entry.type !== 'File' && entry.type !== 'OldFile' && entry.type !== 'ContiguousFile') {
        files[p] = { kind: 'other', type: entry.type };
        entry.resume();
        return;
      }
      if (entry.size > maxBytes) {
        failure ??= new OciError(`${what}: /${p} is ${entry.size} bytes, over the ${maxBytes} byte limit`);
        entry.resume();
        return;
      }
      const chunks: Buffer[] = [];
      entry.on('data', (c: Buffer) => chunks.push(c));
      pending.push(
        new Promise((resolve) =>
          entry.on('end', () => {
            files[p] = { kind: 'file', content: Buffer.concat(chunks).toString('utf8') };
            resolve();
          }),
        ),
      );
    },
  });
  parser.on('error', (e: Error) => {
    failure ??= new OciError(`${what}: not a valid tar stream: ${e.message}`, {}, e);
  });

  const hash = createHash('sha256');
  const source: AsyncIterable<Buffer> = opts.compression === 'gzip' ? blob.pipe(createGunzip()) : blob;
  if (opts.compression === 'gzip') blob.on('error', (e) => (source as Readable).destroy(e));
  try {
    for await (const chunk of source) {
      hash.update(chunk);
      if (failure) break;
      if (!parser.write(chunk)) await once(parser, 'drain');
    }
  } catch (e) {
    if (e instanceof OciError) throw e;
    throw new OciError(`${what}: ${(e as Error).message}`, {}, e);
  }
  if (failure) {
    blob.destroy();
    throw failure;
  }
  const ended = once(parser, 'end');
  parser.end();
  await ended;
  await Promise.all(pending);
  if (failure) throw failure;

  const diffId = `sha256:${hash.digest('hex')}`;
  if (opts.expectedDiffId !== undefined && opts.expectedDiffId !== diffId)
    throw new DigestMismatchError(opts.expectedDiffId, diffId, `${what} (diff_id)`);
  for (const w of wanted) {
    const dir = w.slice(0, Math.max(0, w.lastIndexOf('/')));
    if (files[w] === undefined && opaque.has(dir)) files[w] = { kind: 'deleted' };
  }
  return { diffId, files };
}
