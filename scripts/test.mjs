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
if (process.env.CCGPU_SKIP_SYSTEM_DEPS !== '1') run('bash', ['scripts/system-deps.sh']);
run('npx', ['tsc', '-p', 'tsconfig.json']);
run('npx', ['tsc', '-p', 'tsconfig.test.json']);
run('npx', ['vitest', 'run', ...process.argv.slice(2)]);
