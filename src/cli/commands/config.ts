/**
 * `ccgpu config show [--config F | --flavour NAME] [--annotation k=v ...] [--json]`: the effective configuration and where every
 * value came from (default, base file, drop-in, annotation).
 */
import { parseArgs } from 'node:util';
import {
  applyAnnotations,
  effectiveConfigJson,
  FLAVOURS,
  formatEffectiveConfig,
  isFlavour,
  loadConfigFile,
  resolveConfigPath,
  shippedConfigPath,
} from '../../config/index.js';
import { errorMessage } from '../../errors/index.js';

const USAGE = `usage: ccgpu config show [--config FILE | --flavour NAME] [--annotation KEY=VALUE ...] [--no-drop-ins] [--json]

Prints the effective configuration, one "table.key = value    # source" line per key.
  --config FILE       configuration file (default: $CCGPU_CONF_FILE, $KATA_CONF_FILE,
                      /etc/ccgpu/configuration.toml, then the shipped qemu-nvidia-gpu-snp file)
  --flavour NAME      the shipped configuration of a flavour (${FLAVOURS.join(', ')})
  --annotation K=V    apply a pod annotation (repeatable), as sandbox creation would
  --no-drop-ins       ignore config.d/*.toml beside the file
  --json              machine-readable output
`;

export async function run(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (!sub || sub === '-h' || sub === '--help') {
    process.stdout.write(USAGE);
    return sub ? 0 : 2;
  }
  if (sub !== 'show') {
    process.stderr.write(`ccgpu config: unknown subcommand "${sub}"\n\n${USAGE}`);
    return 2;
  }
  let values;
  try {
    ({ values } = parseArgs({
      args: rest,
      options: {
        config: { type: 'string' },
        flavour: { type: 'string' },
        annotation: { type: 'string', multiple: true },
        'no-drop-ins': { type: 'boolean' },
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (e) {
    process.stderr.write(`ccgpu config show: ${errorMessage(e)}\n\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  const annotations: Record<string, string> = {};
  for (const a of values.annotation ?? []) {
    const eq = a.indexOf('=');
    if (eq <= 0) {
      process.stderr.write(`ccgpu config show: --annotation expects KEY=VALUE, got "${a}"\n`);
      return 2;
    }
    annotations[a.slice(0, eq)] = a.slice(eq + 1);
  }
  try {
    if (values.flavour !== undefined && !isFlavour(values.flavour)) {
      process.stderr.write(
        `ccgpu config show: unknown flavour "${values.flavour}"; expected one of ${FLAVOURS.join(', ')}\n`,
      );
      return 2;
    }
    if (values.flavour !== undefined && values.config !== undefined) {
      process.stderr.write('ccgpu config show: use either --config or --flavour\n');
      return 2;
    }
    const configPath = values.flavour !== undefined ? shippedConfigPath(values.flavour) : values.config;
    const resolved = resolveConfigPath({ configPath });
    let loaded = loadConfigFile(resolved.path, { noDropIns: values['no-drop-ins'] === true });
    if (Object.keys(annotations).length) loaded = applyAnnotations(loaded, annotations);
    for (const w of loaded.warnings) process.stderr.write(`warning: ${w}\n`);
    if (values.json) process.stdout.write(JSON.stringify(effectiveConfigJson(loaded), null, 2) + '\n');
    else process.stdout.write(formatEffectiveConfig(loaded, { resolvedFrom: resolved.source }));
    return 0;
  } catch (e) {
    process.stderr.write(`ccgpu config show: ${errorMessage(e)}\n`);
    return 1;
  }
}
