/**
 * `ccgpu demo [--only STEP,...] [--list]`: the guided run of the main job on this machine (src/demo). Exit 0 when every
 * step that can run here passes, 1 otherwise, 2 on bad usage.
 */
import { parseArgs } from 'node:util';
import { DEMO_STEPS, runDemo } from '../../demo/index.js';
import { errorMessage } from '../../errors/index.js';

const USAGE = `usage: ccgpu demo [--only STEP[,STEP...]] [--list]

Shows what ccgpu does, on this machine (no TEE and no GPU needed), step by step:
${DEMO_STEPS.map((s) => `  ${s.id.padEnd(12)} ${s.title}`).join('\n')}
A step that cannot run here is skipped and says why; a failing step does not stop the others.
  --only STEP,...  run only these steps
  --list           list the steps and exit
Exit status: 0 when every step that ran passed, 1 when one failed, 2 on bad usage.
`;

export async function run(argv: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        only: { type: 'string', multiple: true },
        list: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (e) {
    process.stderr.write(`ccgpu demo: ${errorMessage(e)}\n\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (values.list) {
    process.stdout.write(DEMO_STEPS.map((s) => `${s.id}\t${s.title}\n`).join(''));
    return 0;
  }
  const only = (values.only ?? [])
    .flatMap((v) => v.split(','))
    .map((s) => s.trim())
    .filter(Boolean);
  let report;
  try {
    report = await runDemo({ only });
  } catch (e) {
    process.stderr.write(`ccgpu demo: ${errorMessage(e)}\n`);
    return 2;
  }
  return report.ok ? 0 : 1;
}
