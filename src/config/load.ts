/**
 * Loading a configuration: base file + `config.d/*.toml` drop-ins (name order, later wins, deep merge per table)
 * → typed, validated `LoadedConfig` with provenance and warnings.
 */
import path from 'node:path';
import type { Logger } from 'pino';
import { applyAnnotations } from './annotations.js';
import { decodeDocument } from './decode.js';
import { listDropIns } from './drop-ins.js';
import { mergeDocuments, type MergeOrigin } from './merge.js';
import { Provenance } from './provenance.js';
import { resolveConfigPath, type ResolveConfigPathOptions } from './resolve.js';
import { readTomlFile } from './toml-file.js';
import type { LoadedConfig } from './types.js';
import { validateConfig } from './validate.js';

export interface LoadConfigOptions {
  /** Skip `config.d/` (default: apply it). */
  noDropIns?: boolean;
  logger?: Logger;
}

/** Loads `file` and its drop-ins. Throws ConfigError on unreadable/malformed files, wrong types and invalid values. */
export function loadConfigFile(file: string, opts: LoadConfigOptions = {}): LoadedConfig {
  const base = path.resolve(file);
  const dropIns = opts.noDropIns ? [] : listDropIns(base);
  const layers: { doc: ReturnType<typeof readTomlFile>; origin: MergeOrigin }[] = [
    { doc: readTomlFile(base), origin: { file: base, kind: 'file' } },
    ...dropIns.map((f) => ({ doc: readTomlFile(f), origin: { file: f, kind: 'drop-in' as const } })),
  ];
  const merged = mergeDocuments(layers);
  const decoded = decodeDocument(merged, base);
  const warnings = [...decoded.warnings];
  validateConfig(decoded.config, new Provenance(decoded.sources), (w) => warnings.push(w));
  for (const w of warnings) opts.logger?.warn({ file: base }, w);
  opts.logger?.debug({ file: base, dropIns }, 'configuration loaded');
  return { config: decoded.config, file: base, dropIns, sources: decoded.sources, warnings };
}

/** Resolves the file (ConfigPath option → env → /etc → shipped default) and loads it. */
export function loadConfig(opts: ResolveConfigPathOptions & LoadConfigOptions = {}): LoadedConfig {
  const resolved = resolveConfigPath(opts);
  return loadConfigFile(resolved.path, opts);
}

/**
 * What sandbox creation needs: resolve and load the file, then apply the pod's annotations (a refused or bad
 * annotation throws a ConfigError naming it).
 */
export function loadSandboxConfig(
  opts: ResolveConfigPathOptions & LoadConfigOptions & { annotations?: Record<string, string> } = {},
): LoadedConfig {
  const loaded = loadConfig(opts);
  if (!opts.annotations || Object.keys(opts.annotations).length === 0) return loaded;
  const out = applyAnnotations(loaded, opts.annotations);
  for (const w of out.warnings.slice(loaded.warnings.length)) opts.logger?.warn({ file: loaded.file }, w);
  return out;
}
