#!/usr/bin/env node
// `npm run demo [-- --only STEP,...]`: the guided run of ccgpu's main job on this machine (see docs/demo.md).
// 1. installs the Debian packages the demo and tests use (scripts/system-deps.sh; only as root, otherwise it lists
//    what is missing), 2. builds (npm run build), 3. runs `ccgpu demo` from dist/. Set CCGPU_DEMO_SKIP_BUILD=1 to
//    reuse an existing build. The exit status is the demo's: 0 when every step that can run here passed.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

function run(title, cmd, args) {
  console.log(`==> ${title}`);
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit' });
  if (r.error) console.error(`ccgpu demo: cannot run ${cmd}: ${r.error.message}`);
  return r.status === 0;
}

if (process.platform !== 'linux') {
  console.error(`ccgpu demo: needs Linux (this is ${process.platform})`);
  process.exit(1);
}
if (!run('system packages (scripts/system-deps.sh)', 'bash', ['scripts/system-deps.sh'])) {
  console.error('ccgpu demo: installing system packages failed; steps that need them will be skipped');
}
if (process.env.CCGPU_DEMO_SKIP_BUILD !== '1') {
  // under `npm run`, npm_execpath is npm's own CLI script: use the same npm
  const npm = process.env.npm_execpath;
  const ok =
    npm && npm.endsWith('.js')
      ? run('build (npm run build)', process.execPath, [npm, 'run', 'build'])
      : run('build (npm run build)', 'npm', ['run', 'build']);
  if (!ok) {
    console.error('ccgpu demo: the build failed (see the errors above)');
    process.exit(1);
  }
}
const main = path.join(root, 'dist/src/cli/main.js');
if (!existsSync(main)) {
  console.error(`ccgpu demo: ${main} does not exist; run npm run build`);
  process.exit(1);
}
console.log('==> ccgpu demo\n');
const r = spawnSync(process.execPath, [main, 'demo', ...process.argv.slice(2)], { cwd: root, stdio: 'inherit' });
process.exit(r.status ?? 1);
