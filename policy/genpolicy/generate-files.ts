/**
 * File-level driver for `ccgpu policy generate` (genpolicy's CLI semantics): reads the YAML (file or given
 * text), ConfigMap/Secret files, settings (file or directory with drop-ins), rules and base initdata; pulls image
 * metadata through the OCI client with an optional persistent layer cache; rewrites the YAML in place with `-y`.
 */
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import type { Logger } from 'pino';
import { loadDockerCredentials } from '../oci/index.js';
import { GenpolicyError } from './errors.js';
import { generatePolicies, type GenerateResult } from './generate.js';
import { RegistryImageSource, type ImageSource } from './image-source.js';
import { parseInitdataToml } from './initdata.js';
import { LayersCache } from './layers-cache.js';
import { loadSettings } from './settings.js';

export interface GenerateFilesOptions {
  /** `-y`: input YAML, rewritten in place. When absent, `yamlText` is used (stdin). */
  readonly yamlFile?: string;
  readonly yamlText?: string;
  readonly configFiles?: readonly string[];
  readonly rulesFile: string;
  readonly settingsPath: string;
  readonly layersCacheFile?: string;
  readonly insecureRegistries?: readonly string[];
  readonly runtimeClassNames?: readonly string[];
  readonly silentUnsupportedFields?: boolean;
  readonly legacyAnnotation?: boolean;
  readonly initdataFile?: string;
  readonly dockerConfigFile?: string;
  /** Override the image source (tests); default pulls from registries. */
  readonly images?: ImageSource;
  readonly logger?: Logger;
}

function read(file: string, what: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (e) {
    throw new GenpolicyError(`cannot read ${what} ${file}: ${(e as Error).message}`, { file });
  }
}

export async function generateFromFiles(opts: GenerateFilesOptions): Promise<GenerateResult> {
  const yamlText = opts.yamlFile !== undefined ? read(opts.yamlFile, 'YAML file') : opts.yamlText;
  if (yamlText === undefined) throw new GenpolicyError('no input YAML: give -y FILE or YAML on stdin');
  const { settings, files } = loadSettings(opts.settingsPath);
  opts.logger?.debug({ files }, 'settings loaded');
  const rules = read(opts.rulesFile, 'rules file');
  const baseInitdata = opts.initdataFile
    ? parseInitdataToml(read(opts.initdataFile, 'initdata file'), opts.initdataFile)
    : undefined;
  const configFiles = (opts.configFiles ?? []).map((f) => ({ file: f, text: read(f, 'config file') }));

  let source: RegistryImageSource | undefined;
  let images = opts.images;
  if (!images) {
    source = new RegistryImageSource({
      cache: new LayersCache(opts.layersCacheFile),
      credentials: loadDockerCredentials({
        ...(opts.dockerConfigFile ? { file: opts.dockerConfigFile } : {}),
        ...(opts.logger ? { logger: opts.logger } : {}),
      }),
      ...(opts.insecureRegistries ? { insecureRegistries: opts.insecureRegistries } : {}),
      ...(opts.logger ? { logger: opts.logger } : {}),
    });
    images = source;
  }
  try {
    const result = await generatePolicies({
      yamlText,
      ...(opts.yamlFile ? { yamlFile: opts.yamlFile } : {}),
      configFiles,
      settings,
      rules,
      images,
      ...(opts.runtimeClassNames ? { runtimeClassNames: opts.runtimeClassNames } : {}),
      silentUnsupportedFields: opts.silentUnsupportedFields === true,
      legacyAnnotation: opts.legacyAnnotation === true,
      ...(baseInitdata ? { baseInitdata } : {}),
      ...(opts.logger ? { logger: opts.logger } : {}),
    });
    if (opts.yamlFile !== undefined) {
      const tmp = `${opts.yamlFile}.ccgpu-tmp-${process.pid}`;
      writeFileSync(tmp, result.yaml);
      renameSync(tmp, opts.yamlFile);
    }
    source?.cache.save();
    return result;
  } finally {
    await source?.close();
  }
}
