/**
 * Which configuration file to load, like Kata: the containerd runtime option `ConfigPath`, then the environment
 * (`CCGPU_CONF_FILE`, then Kata's `KATA_CONF_FILE`), then `/etc/ccgpu/configuration.toml` when it exists, then the
 * shipped default `configs/configuration-qemu-nvidia-gpu-snp.toml`.
 *
 * An explicitly named file (option or environment) that does not exist is an error; it never falls through to a
 * default silently.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { ConfigError } from '../errors/index.js';
import { shippedConfigPath } from './flavours.js';

export const ETC_CONFIG_PATH = '/etc/ccgpu/configuration.toml';

export type ConfigPathSource = 'option' | 'CCGPU_CONF_FILE' | 'KATA_CONF_FILE' | 'etc' | 'shipped';

export interface ResolvedConfigPath {
  path: string;
  source: ConfigPathSource;
}

export interface ResolveConfigPathOptions {
  /** containerd's runtime option `ConfigPath` (or `--config`). */
  configPath?: string;
  env?: NodeJS.ProcessEnv;
  /** Overrides for tests. */
  etcPath?: string;
  shippedPath?: string;
  exists?: (p: string) => boolean;
}

export function resolveConfigPath(opts: ResolveConfigPathOptions = {}): ResolvedConfigPath {
  const env = opts.env ?? process.env;
  const exists = opts.exists ?? existsSync;
  const explicit: [ConfigPathSource, string | undefined][] = [
    ['option', opts.configPath],
    ['CCGPU_CONF_FILE', env.CCGPU_CONF_FILE],
    ['KATA_CONF_FILE', env.KATA_CONF_FILE],
  ];
  for (const [source, p] of explicit) {
    if (p === undefined || p === '') continue;
    const abs = path.resolve(p);
    if (!exists(abs)) {
      const what = source === 'option' ? 'the ConfigPath option' : `$${source}`;
      throw new ConfigError(`configuration file ${abs} (from ${what}) does not exist`, { file: abs });
    }
    return { path: abs, source };
  }
  const etc = opts.etcPath ?? ETC_CONFIG_PATH;
  if (exists(etc)) return { path: etc, source: 'etc' };
  const shipped = opts.shippedPath ?? shippedConfigPath();
  if (!exists(shipped))
    throw new ConfigError(
      `no configuration file: ${etc} does not exist and the shipped default ${shipped} is missing`,
      { file: shipped },
    );
  return { path: shipped, source: 'shipped' };
}
