#!/usr/bin/env node
/** `containerd-shim-ccgpu-v2`: the containerd shim v2 binary (start, delete, or serve). */
import { errorMessage } from '../errors/index.js';
import { parseShimFlags } from './flags.js';
import { shimStart } from './start.js';
import { shimDelete } from './delete.js';
import { shimServe } from './serve.js';

export const SHIM_VERSION = '0.1.0';

async function main(argv: string[]): Promise<void> {
  const flags = parseShimFlags(argv);
  if (flags.version) {
    process.stdout.write(`containerd-shim-ccgpu-v2:\n  Version: ${SHIM_VERSION}\n`);
    return;
  }
  if (flags.action === 'start') {
    process.stdout.write(await shimStart(flags));
    return;
  }
  if (flags.action === 'delete') {
    process.stdout.write(await shimDelete(flags));
    return;
  }
  await shimServe(flags);
}

main(process.argv.slice(2)).then(
  () => {
    if (process.argv.includes('start') || process.argv.includes('delete')) process.exit(0);
  },
  (e: unknown) => {
    // start must keep stderr empty on success; on failure containerd shows this text
    process.stderr.write(`containerd-shim-ccgpu-v2: ${errorMessage(e)}\n`);
    process.exit(1);
  },
);
