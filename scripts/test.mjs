#!/usr/bin/env node
// `npm test`: installs missing system packages (Debian, as root), builds the native addon and the TypeScript, type-
// checks the tests, then runs the whole vitest suite (unit, integration, e2e). Exit code is vitest's.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { stdio: 'inherit', cwd: root, ...opts });
  if (r.status !== 0) {
    console.error(`ccgpu test: ${cmd} ${args.join(' ')} failed (exit ${r.status ?? r.signal})`);
    process.exit(r.status ?? 1);
  }
}
if (process.env.CCGPU_SKIP_SYSTEM_DEPS !== '1') {
  run('bash', ['scripts/system-deps.sh']);
  // Debian forky chroot (QEMU 11.x, containerd 2.x) for the acceptance tests that need newer versions; tests that
  // need it skip with a notice when it cannot be made.
  const r = spawnSync('bash', ['scripts/forky-chroot.sh'], { stdio: 'inherit', cwd: root });
  if (r.status !== 0)
    console.error('ccgpu test: no forky chroot; the QEMU 11 / containerd 2 acceptance tests will be skipped');
}
run('npm', ['run', 'build']);
run('npx', ['tsc', '-p', 'tsconfig.test.json']);
run('npx', ['vitest', 'run', ...process.argv.slice(2)]);
