#!/usr/bin/env node
/**
 * `ccgpu` entry point: dispatches `ccgpu <command> [args]` to `src/cli/commands/<command>.ts`, each exporting
 * `run(argv: string[]): Promise<number>` (the exit code). No logic of its own.
 */
import { errorMessage } from '../errors/index.js';

const COMMANDS: Record<string, string> = {
  check: 'host readiness per flavour (CPU, KVM, SNP/TDX, IOMMU, VFIO, vsock, QEMU, firmware)',
  config: 'config show: the effective configuration and where each value came from',
  cdi: 'cdi generate|list|inject: CDI specs for VFIO GPUs and NVSwitches',
  'qemu-cmdline': 'print the QEMU command line for a pod bundle, one argument per line',
  policy: 'policy generate|eval|explain: agent security policy',
  attest: 'attest verify: verify SNP/TDX/NVIDIA evidence',
  kbs: 'kbs serve|...: the embedded Key Broker Service',
  secret: 'secret seal: create signed sealed secrets',
  image: 'image build: the guest kernel + initramfs',
  demo: 'run the end-to-end demo',
};

function usage(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((c) => c.length));
  return (
    'usage: ccgpu <command> [options]\n\ncommands:\n' +
    Object.entries(COMMANDS)
      .map(([c, d]) => `  ${c.padEnd(width)}  ${d}`)
      .join('\n') +
    '\n\nccgpu <command> --help shows the options of a command.\n'
  );
}

export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (!cmd || cmd === '-h' || cmd === '--help' || cmd === 'help') {
    process.stdout.write(usage());
    return cmd ? 0 : 2;
  }
  if (!(cmd in COMMANDS)) {
    process.stderr.write(`ccgpu: unknown command "${cmd}"\n\n${usage()}`);
    return 2;
  }
  let mod: { run(argv: string[]): Promise<number> };
  try {
    mod = (await import(`./commands/${cmd}.js`)) as typeof mod;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ERR_MODULE_NOT_FOUND' && String(e).includes(`commands/${cmd}`)) {
      process.stderr.write(`ccgpu: command "${cmd}" is not available in this build\n`);
      return 2;
    }
    throw e;
  }
  return mod.run(rest);
}

const isEntry =
  process.argv[1] && /(?:^|[/\\])main\.(?:js|ts)$/.test(process.argv[1]) && process.argv[1].includes('cli');
if (isEntry) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e: unknown) => {
      process.stderr.write(`ccgpu: ${errorMessage(e)}\n`);
      process.exit(1);
    },
  );
}
