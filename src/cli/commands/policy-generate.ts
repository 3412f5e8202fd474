/**
 * `ccgpu policy generate`: genpolicy-compatible flags; all work is done by `policy/genpolicy`.
 * Called from the `generate` branch of `ccgpu policy` (`runGenerate`); `run` is the same entry point under the
 * name every command file exports.
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { generateFromFiles } from '../../../policy/genpolicy/index.js';
import { RULES_PATH } from '../../../policy/rules/index.js';
import { createLogger } from '../../log/index.js';

export const GENERATE_USAGE = `usage: ccgpu policy generate [options]

  -y, --yaml-file PATH              pod YAML; rewritten in place (default: read stdin, write stdout)
      --config-file PATH            ConfigMap/Secret YAML (repeatable); -c, --config-map-file PATH (deprecated)
  -p, --rego-rules-path PATH        rules file (default: ccgpu's policy/rules/rules.rego)
  -j, --json-settings-path PATH     settings file, or directory with genpolicy-settings.json and
                                    genpolicy-settings.d/*.json RFC 6902 drop-ins
                                    (default: ./genpolicy-settings.json if present, else configs/genpolicy)
  -u, --use-cached-files            layer cache at ./layers-cache.json
      --layers-cache-file-path[=PATH]  layer cache location (a value needs "=")
  -r, --raw-out                     print the policy text
  -b, --base64-out                  print the annotation value
  -s, --silent-unsupported-fields   ignore unknown YAML fields
      --insecure-registry HOST      plain-HTTP registry (repeatable)
      --runtime-class-names PREFIX  only resources whose runtimeClassName starts with PREFIX (repeatable)
      --initdata-path=PATH          base initdata TOML (policy added under "policy.rego")
      --legacy-annotation           write io.katacontainers.config.agent.policy (base64 policy) instead of initdata
      --docker-config PATH          Docker config file with registry credentials (default: $DOCKER_CONFIG/config.json)
  -v, --version                     print the version
`;

/** Shipped settings: from source (src/cli/commands) or from a dist/ build (dist/src/cli/commands). */
const DEFAULT_SETTINGS_DIR =
  ['../../../configs/genpolicy', '../../../../configs/genpolicy']
    .map((rel) => fileURLToPath(new URL(rel, import.meta.url)))
    .find((p) => existsSync(p)) ?? fileURLToPath(new URL('../../../configs/genpolicy', import.meta.url));

export async function runGenerate(argv: string[]): Promise<number> {
  // genpolicy's optional-value flags take a value only after "=": a bare flag means the default.
  const args = argv.map((a) => (a === '--layers-cache-file-path' ? '--layers-cache-file-path=layers-cache.json' : a));
  if (args.some((a) => a === '-d' || a.startsWith('--containerd-socket-path'))) {
    process.stderr.write(
      'ccgpu policy generate: -d/--containerd-socket-path (pull through containerd) is not supported; images are pulled from registries\n',
    );
    return 2;
  }
  const { values } = parseArgs({
    args,
    options: {
      'yaml-file': { type: 'string', short: 'y' },
      'config-map-file': { type: 'string', short: 'c' },
      'config-file': { type: 'string', multiple: true },
      'rego-rules-path': { type: 'string', short: 'p' },
      'json-settings-path': { type: 'string', short: 'j' },
      'use-cached-files': { type: 'boolean', short: 'u' },
      'layers-cache-file-path': { type: 'string' },
      'raw-out': { type: 'boolean', short: 'r' },
      'base64-out': { type: 'boolean', short: 'b' },
      'silent-unsupported-fields': { type: 'boolean', short: 's' },
      'insecure-registry': { type: 'string', multiple: true },
      'runtime-class-names': { type: 'string', multiple: true },
      'initdata-path': { type: 'string' },
      'legacy-annotation': { type: 'boolean' },
      'docker-config': { type: 'string' },
      version: { type: 'boolean', short: 'v' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(GENERATE_USAGE);
    return 0;
  }
  if (values.version) {
    const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as {
      version: string;
    };
    process.stdout.write(`ccgpu policy generate ${pkg.version}\n`);
    return 0;
  }
  const yamlFile = values['yaml-file'];
  const settingsPath =
    values['json-settings-path'] ??
    (existsSync('genpolicy-settings.json') ? 'genpolicy-settings.json' : DEFAULT_SETTINGS_DIR);
  const layersCacheFile =
    values['layers-cache-file-path'] ?? (values['use-cached-files'] ? 'layers-cache.json' : undefined);
  const result = await generateFromFiles({
    ...(yamlFile !== undefined ? { yamlFile } : { yamlText: readFileSync(0, 'utf8') }),
    configFiles: [...(values['config-map-file'] ? [values['config-map-file']] : []), ...(values['config-file'] ?? [])],
    rulesFile: values['rego-rules-path'] ?? RULES_PATH,
    settingsPath,
    ...(layersCacheFile ? { layersCacheFile } : {}),
    insecureRegistries: values['insecure-registry'] ?? [],
    runtimeClassNames: values['runtime-class-names'] ?? [],
    silentUnsupportedFields: values['silent-unsupported-fields'] === true,
    legacyAnnotation: values['legacy-annotation'] === true,
    ...(values['initdata-path'] ? { initdataFile: values['initdata-path'] } : {}),
    ...(values['docker-config'] ? { dockerConfigFile: values['docker-config'] } : {}),
    logger: createLogger({ pretty: true, level: process.env.CCGPU_LOG_LEVEL ?? 'warn' }),
  });
  for (const p of result.policies) {
    if (values['raw-out']) process.stdout.write(p.policy);
    if (values['base64-out']) process.stdout.write(`${p.annotationValue}\n`);
  }
  if (yamlFile === undefined && !values['raw-out'] && !values['base64-out']) process.stdout.write(result.yaml);
  for (const s of result.skipped) process.stderr.write(`${s}: runtimeClassName not selected, left unchanged\n`);
  return 0;
}

/** The command entry point (same as `runGenerate`). */
export const run: (argv: string[]) => Promise<number> = runGenerate;
