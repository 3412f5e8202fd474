/**
 * `ccgpu cdi generate|list|inject`: CDI specs for VFIO GPUs and NVSwitches, the spec registry, and injection into an
 * OCI spec. Parses flags, calls the cdi library, prints.
 */
import fs from 'node:fs';
import { parseArgs } from 'node:util';
import {
  CdiRegistry,
  DEFAULT_DYNAMIC_DIR,
  DEFAULT_SPEC_DIRS,
  generateVfioSpecs,
  writeVfioSpecs,
  type CdiCompat,
  type OciSpec,
} from '../../../cdi/index.js';
import { errorMessage } from '../../errors/index.js';

const USAGE = `usage:
  ccgpu cdi generate [--sysfs-root R] [--output DIR] [--pci-ids FILE] [--dry-run]
      write nvidia.com/pgpu and nvidia.com/nvswitch specs for NVIDIA GPUs/NVSwitches bound to vfio-pci
      (env P_GPU_ALIAS / NVSWITCH_ALIAS rename the kinds; set to "" for per-model kinds). Default output ${DEFAULT_DYNAMIC_DIR}.
  ccgpu cdi list [--cdi-dir D ...] [--compat containerd-2.1|head]
      the devices of every spec file, and the errors of the files that do not load
  ccgpu cdi inject --spec config.json [--cdi-dir D ...] [--compat ...] NAME...
      print the OCI spec with the named CDI devices injected
`;

function compatOf(v: string | undefined): CdiCompat {
  if (v === undefined || v === 'containerd-2.1') return 'containerd-2.1';
  if (v === 'head') return 'head';
  throw new Error(`--compat: expected containerd-2.1 or head, got ${JSON.stringify(v)}`);
}

function generate(argv: string[]): number {
  const { values } = parseArgs({
    args: argv,
    options: {
      'sysfs-root': { type: 'string', default: '/' },
      output: { type: 'string', default: DEFAULT_DYNAMIC_DIR },
      'pci-ids': { type: 'string' },
      'dry-run': { type: 'boolean', default: false },
    },
  });
  const result = generateVfioSpecs({
    root: values['sysfs-root'],
    ...(values['pci-ids'] !== undefined ? { pciIdsPath: values['pci-ids'] } : {}),
  });
  for (const w of result.warnings) process.stderr.write(`warning: ${w}\n`);
  if (result.specs.length === 0) {
    process.stderr.write('no NVIDIA GPUs or NVSwitches bound to vfio-pci found; nothing written\n');
    return 0;
  }
  if (values['dry-run']) {
    for (const s of result.specs) process.stdout.write(`# ${s.fileName}\n${s.yaml}`);
    return 0;
  }
  for (const p of writeVfioSpecs(result, values.output)) process.stdout.write(`${p}\n`);
  return 0;
}

function list(argv: string[]): number {
  const { values } = parseArgs({
    args: argv,
    options: { 'cdi-dir': { type: 'string', multiple: true }, compat: { type: 'string' } },
  });
  const reg = new CdiRegistry({ specDirs: values['cdi-dir'] ?? DEFAULT_SPEC_DIRS, compat: compatOf(values.compat) });
  const errors = reg.getErrors();
  const files = new Set<string>([...reg.listSpecs().map((s) => s.path), ...errors.keys()]);
  const resolvable = new Set(reg.listDevices());
  for (const file of [...files].sort()) {
    const spec = reg.listSpecs().find((s) => s.path === file);
    process.stdout.write(
      spec ? `${file} (kind ${spec.vendor}/${spec.class}, cdiVersion ${spec.spec.cdiVersion})\n` : `${file}\n`,
    );
    for (const name of spec ? spec.devices.keys() : []) {
      const q = `${spec!.vendor}/${spec!.class}=${name}`;
      const winner = reg.getDevice(q);
      const note = !resolvable.has(q)
        ? ' (unresolvable)'
        : winner && winner.spec.path !== file
          ? ` (overridden by ${winner.spec.path})`
          : '';
      process.stdout.write(`  ${q}${note}\n`);
    }
    for (const e of errors.get(file) ?? []) process.stdout.write(`  error: ${e}\n`);
  }
  if (files.size === 0) process.stdout.write(`no CDI specs in ${reg.specDirs.join(', ')}\n`);
  return errors.size > 0 ? 1 : 0;
}

function inject(argv: string[]): number {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { spec: { type: 'string' }, 'cdi-dir': { type: 'string', multiple: true }, compat: { type: 'string' } },
  });
  if (!values.spec) throw new Error('--spec config.json is required');
  if (positionals.length === 0) throw new Error('name at least one CDI device, e.g. nvidia.com/pgpu=0');
  let oci: OciSpec;
  try {
    oci = JSON.parse(fs.readFileSync(values.spec, 'utf8')) as OciSpec;
  } catch (e) {
    throw new Error(`cannot read OCI spec ${JSON.stringify(values.spec)}: ${errorMessage(e)}`);
  }
  const reg = new CdiRegistry({ specDirs: values['cdi-dir'] ?? DEFAULT_SPEC_DIRS, compat: compatOf(values.compat) });
  const { spec } = reg.injectDevices(oci, positionals);
  process.stdout.write(`${JSON.stringify(spec, null, 2)}\n`);
  return 0;
}

export async function run(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (!sub || sub === '-h' || sub === '--help' || rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(USAGE);
    return sub ? 0 : 2;
  }
  try {
    switch (sub) {
      case 'generate':
        return generate(rest);
      case 'list':
        return list(rest);
      case 'inject':
        return inject(rest);
      default:
        process.stderr.write(`ccgpu cdi: unknown subcommand ${JSON.stringify(sub)}\n\n${USAGE}`);
        return 2;
    }
  } catch (e) {
    process.stderr.write(`ccgpu cdi ${sub}: ${errorMessage(e)}\n`);
    return 1;
  }
}
