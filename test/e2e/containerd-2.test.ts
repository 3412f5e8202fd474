/**
 * End to end with a real containerd 2.1 (Debian forky's, from the chroot scripts/forky-chroot.sh makes; its
 * containerd and ctr binaries only need libc and run directly on the host): `ctr run --runtime io.containerd.ccgpu.v2`
 * starts our shim, which boots a QEMU guest (TCG) running our agent, which runs the container with runc.
 *
 * Run twice, once per shim protocol containerd 2.x accepts from `containerd-shim-ccgpu-v2 start`:
 * - ttrpc: the plain `unix://` address (what 1.6 also takes);
 * - grpc: with CCGPU_SHIM_PROTOCOL=grpc the shim answers with the bootstrap JSON v3 `{"version":3,...,"protocol":"grpc"}`
 *   and serves `containerd.task.v3.Task` over gRPC.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestContainerd } from '../fixtures/containerd.js';
import {
  leftovers,
  missingForE2e,
  startE2eEnvironment,
  stopE2eEnvironment,
  type E2eEnvironment,
} from '../fixtures/ccgpu-test-env.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const FORKY = process.env.CCGPU_FORKY_ROOT ?? '/var/lib/ccgpu/forky';
const CONTAINERD = path.join(FORKY, 'usr/bin/containerd');
const CTR = path.join(FORKY, 'usr/bin/ctr');

function missingForContainerd2(): string[] {
  // the host's containerd/ctr (1.6) are not used here
  const missing = missingForE2e().filter((m) => m !== 'containerd' && m !== 'ctr');
  for (const bin of [CONTAINERD, CTR]) {
    try {
      fs.accessSync(bin, fs.constants.X_OK);
    } catch {
      missing.push(`${bin} (create the chroot as root with scripts/forky-chroot.sh)`);
    }
  }
  return missing;
}

const missing = missingForContainerd2();
if (missing.length) console.warn(`SKIP containerd 2.x e2e: missing ${missing.join(', ')}`);
const IMAGE = 'docker.io/library/ccgpu-busybox:test';
const RUNTIME = 'io.containerd.ccgpu.v2';

type Protocol = 'ttrpc' | 'grpc';

describe.skipIf(missing.length > 0).each<Protocol>(['ttrpc', 'grpc'])(
  'containerd 2.1 + ccgpu shim (%s) + QEMU guest + agent',
  (protocol) => {
    let env: E2eEnvironment;
    let ctd: TestContainerd;
    let shimStderr: string;
    // ids distinct from the containerd 1.6 suite's: /run/ccgpu/<id> is shared by every containerd on the host
    const id = (name: string) => `e2e2-${protocol}-${name}`;

    beforeAll(async () => {
      env = await startE2eEnvironment({
        prefix: `ccgpu-e2e2-${protocol}-`,
        image: IMAGE,
        containerd: { binary: CONTAINERD, ctrBinary: CTR, configVersion: 3 },
        env: protocol === 'grpc' ? { CCGPU_SHIM_PROTOCOL: 'grpc' } : {},
      });
      ({ ctd, shimStderr } = env);
      const v = await ctd.ctr(['version']);
      expect(v.stdout, v.stderr).toMatch(/Server:[\s\S]*Version:\s+2\.1\./);
    }, 600_000);

    afterAll(() => stopE2eEnvironment(env), 60_000);

    const run = async (args: string[]) => ctd.ctr(['-n', 'default', ...args], { timeoutMs: 300_000 });
    const diag = (r: { stdout: string; stderr: string }) =>
      `${r.stdout}\n${r.stderr}\n--- containerd log tail:\n${ctd.logs().slice(-4000)}\n--- shim stderr tail:\n${
        fs.existsSync(shimStderr) ? fs.readFileSync(shimStderr, 'utf8').slice(-2000) : '(none)'
      }`;

    const connectLine = (name: string) =>
      new RegExp(`msg="connecting to shim ${name}" address=\\S+ namespace=default protocol=(\\w+) version=(\\d+)`);

    if (protocol === 'ttrpc') {
      it('echo hello prints hello; the sandbox leaves nothing behind', async () => {
        const name = id('hello');
        const r = await run(['run', '--rm', '--runtime', RUNTIME, IMAGE, name, 'echo', 'hello']);
        expect(r.code, diag(r)).toBe(0);
        expect(r.stdout).toBe('hello\n');
        expect(leftovers(name)).toEqual([]);
        // the plain address: containerd 2.x speaks ttrpc, Task API v2, to the shim
        expect(ctd.logs().match(connectLine(name))?.slice(1)).toEqual(['ttrpc', '2']);
      }, 300_000);

      it('exit codes propagate', async () => {
        const name = id('exit');
        const r = await run(['run', '--rm', '--runtime', RUNTIME, IMAGE, name, 'sh', '-c', 'echo out; exit 3']);
        expect(r.code, diag(r)).toBe(3);
        expect(r.stdout).toBe('out\n');
        expect(leftovers(name)).toEqual([]);
      }, 300_000);

      it('exec, kill and delete on a running task', async () => {
        const name = id('long');
        let r = await run(['run', '-d', '--runtime', RUNTIME, IMAGE, name, 'sleep', '600']);
        expect(r.code, diag(r)).toBe(0);
        r = await run(['task', 'exec', '--exec-id', 'x1', name, 'sh', '-c', 'echo inside; exit 7']);
        expect(r.code, diag(r)).toBe(7);
        expect(r.stdout).toBe('inside\n');
        r = await run(['task', 'ls']);
        expect(r.stdout).toMatch(new RegExp(`${name}\\s+\\d+\\s+RUNNING`));
        r = await run(['task', 'kill', '-s', 'SIGKILL', name]);
        expect(r.code, diag(r)).toBe(0);
        for (let i = 0; i < 100 && !/STOPPED/.test((await run(['task', 'ls'])).stdout); i++) await sleep(200);
        expect((await run(['task', 'ls'])).stdout).toMatch(new RegExp(`${name}\\s+\\d+\\s+STOPPED`));
        r = await run(['task', 'rm', name]);
        expect(r.code, diag(r)).toBe(0);
        r = await run(['container', 'rm', name]);
        expect(r.code, diag(r)).toBe(0);
        expect(leftovers(name)).toEqual([]);
      }, 400_000);
    }

    // containerd 2.0 up to 2.4.0-beta.0 and main (checked in the sources) cannot keep a gRPC shim:
    // core/runtime/v2/shim.go grpcDialContext creates the client with grpc.NewClient (state IDLE until the first call) and then waits for a
    // change away from READY, so the "connection closed" callback fires at once: containerd logs "shim disconnected"
    // right after "connecting to shim", runs the dead-shim cleanup (`shim delete`, which stops the sandbox) while
    // Task/Create is still booting the guest, and `ctr run` fails. What can be checked until containerd is fixed: the
    // bootstrap JSON v3 is accepted, Task/Create reaches the shim over gRPC, and the cleanup leaves nothing behind.
    // Once containerd is fixed, the same test demands "hello".
    if (protocol === 'grpc') {
      it('gRPC shim: containerd takes the bootstrap v3 JSON and calls Task/Create over gRPC; nothing is left behind', async () => {
        const name = id('hello');
        const r = await run(['run', '--rm', '--runtime', RUNTIME, IMAGE, name, 'echo', 'hello']);
        const logs = ctd.logs();
        expect(logs.match(connectLine(name))?.slice(1), diag(r)).toEqual(['grpc', '3']);
        // Task/Create arrived over gRPC: the shim started the sandbox's QEMU
        expect(logs, diag(r)).toMatch(new RegExp(`"sandbox":"${name}"[^\\n]*"component":"qemu","binary":`));
        if (r.code === 0) {
          expect(r.stdout).toBe('hello\n');
        } else {
          expect(logs, diag(r)).toMatch(new RegExp(`msg="shim disconnected" id=${name} `));
          console.warn(
            `containerd 2.x dropped the gRPC shim at once ("shim disconnected"; upstream grpcDialContext bug): ${r.stderr.trim()}`,
          );
        }
        expect(leftovers(name)).toEqual([]);
      }, 300_000);
    }
  },
);
