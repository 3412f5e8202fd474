/**
 * Sandbox benchmark (issue 3 acceptance, "Benchmark"), on a real containerd 1.6 with the ccgpu shim, a QEMU TCG guest
 * and the real agent, against baselines measured in the same run:
 *
 *  (a) sandbox start time: `ctr run -d` until the task is RUNNING (shim Create → QEMU → agent Health SERVING →
 *      CreateSandbox/CreateContainer → Start), and the part of it from the shim's "starting QEMU" log line to its
 *      "agent is serving" line; each divided by the boot of the same kernel + initramfs under bare QEMU (bootGuest
 *      from src/guest-image, same kernel parameters, memory and vCPUs) until the same agent answers grpc.Health/Check
 *      SERVING on its virtio-serial channel (connectAgent, the very loop the shim uses).
 *  (b) the shim's resident memory (VmRSS and VmHWM of the containerd-shim-ccgpu-v2 node process) with one running
 *      sandbox, against containerd-shim-runc-v2 with one running runc container in the same containerd, and against
 *      an idle `node` process.
 *
 *   npx tsx test/bench/sandbox.bench.ts [RUNS]      (default 3 runs of each boot; env SANDBOX_BENCH_RUNS)
 *
 * Needs root, qemu-system-x86_64, containerd, ctr, runc (the e2e prerequisites); skips with a message otherwise.
 * Run `npm run build` first: the shim runs from dist/ when it exists.
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { bootGuest } from '../../src/guest-image/index.js';
import { connectAgent } from '../../src/agent-client/index.js';
import { silentLogger } from '../../src/log/index.js';
import { startContainerd, type TestContainerd } from '../fixtures/containerd.js';
import { buildBusyboxImageTar } from '../fixtures/oci/busybox-image.js';
import { guestImage, leftovers, missingForE2e, shimBinDir, writeE2eConfig, REPO } from '../fixtures/ccgpu-test-env.js';

const IMAGE = 'docker.io/library/ccgpu-busybox:test';
const RUNTIME = 'io.containerd.ccgpu.v2';
const RUNS = Number(process.argv[2] ?? process.env.SANDBOX_BENCH_RUNS ?? 3);
if (!Number.isInteger(RUNS) || RUNS < 1) {
  console.error(
    `sandbox bench: RUNS must be a whole number ≥ 1, got "${process.argv[2] ?? process.env.SANDBOX_BENCH_RUNS}"`,
  );
  process.exit(2);
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : Math.round((s[m - 1]! + s[m]!) / 2);
};
const mib = (kb: number): string => `${(kb / 1024).toFixed(1)} MiB`;

/** VmRSS and VmHWM of a process, in KiB. */
function memoryOf(pid: number): { rssKb: number; hwmKb: number } {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const field = (name: string): number => {
    const m = new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status);
    if (!m) throw new Error(`/proc/${pid}/status has no ${name}`);
    return Number(m[1]);
  };
  return { rssKb: field('VmRSS'), hwmKb: field('VmHWM') };
}

/** The shim's log lines for one sandbox (containerd 1.6 copies the shim's log FIFO into its own log). */
function shimLogTimes(log: string, id: string): { qemuAt: number; agentAt: number; append: string } {
  let qemuAt = NaN;
  let agentAt = NaN;
  let append = '';
  for (const line of log.split('\n')) {
    if (!line.startsWith('{') || !line.includes(`"sandbox":"${id}"`)) continue;
    let rec: { msg?: string; time?: string | number; args?: string[] };
    try {
      rec = JSON.parse(line) as typeof rec;
    } catch {
      continue;
    }
    const t = typeof rec.time === 'number' ? rec.time : Date.parse(String(rec.time));
    if (rec.msg === 'starting QEMU') {
      qemuAt = t;
      const i = rec.args?.indexOf('-append') ?? -1;
      if (i >= 0) append = rec.args![i + 1] ?? '';
    } else if (rec.msg === 'agent is serving') agentAt = t;
  }
  if (!Number.isFinite(qemuAt) || !Number.isFinite(agentAt) || !append) {
    throw new Error(`the containerd log has no complete "starting QEMU" / "agent is serving" pair for ${id}`);
  }
  return { qemuAt, agentAt, append };
}

async function waitStatus(ctd: TestContainerd, id: string, status: 'RUNNING' | 'STOPPED'): Promise<void> {
  const re = new RegExp(`^${id}\\s+\\d+\\s+${status}`, 'm');
  for (let i = 0; i < 300; i++) {
    if (re.test((await ctd.ctr(['-n', 'default', 'task', 'ls'])).stdout)) return;
    await sleep(200);
  }
  throw new Error(`task ${id} did not reach ${status}`);
}

async function removeTask(ctd: TestContainerd, id: string): Promise<void> {
  await ctd.ctr(['-n', 'default', 'task', 'kill', '-s', 'SIGKILL', id]);
  await waitStatus(ctd, id, 'STOPPED');
  await ctd.ctr(['-n', 'default', 'task', 'rm', id]);
  const r = await ctd.ctr(['-n', 'default', 'container', 'rm', id]);
  if (r.code !== 0) throw new Error(`ctr container rm ${id}: ${r.stderr}`);
}

/** The serving shim process of a task: its bundle's shim.pid, else the process whose arguments name it. */
function shimPidOf(ctdDir: string, id: string, binary: string): number {
  const file = path.join(ctdDir, 'state/io.containerd.runtime.v2.task/default', id, 'shim.pid');
  if (fs.existsSync(file)) return Number(fs.readFileSync(file, 'utf8').trim());
  const ps = spawnSync('ps', ['-eo', 'pid=,args='], { encoding: 'utf8' }).stdout ?? '';
  const line = ps
    .split('\n')
    .find((l) => l.includes(binary) && l.includes(` -id ${id} `) && !/ (start|delete)$/.test(l));
  if (!line) throw new Error(`no ${binary} process for ${id}`);
  return Number(line.trim().split(/\s+/)[0]);
}

/** RSS of an idle node process of the same binary (the runtime's floor). */
async function idleNodeMemory(): Promise<{ rssKb: number; hwmKb: number }> {
  const p = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
  try {
    await sleep(1_000);
    return memoryOf(p.pid!);
  } finally {
    p.kill('SIGKILL');
  }
}

/** Bare QEMU with the same kernel, initramfs and kernel parameters, until the agent answers Health SERVING. */
async function bareBootMs(
  img: { kernel: string; initrd: string },
  append: string,
  dir: string,
  i: number,
): Promise<number> {
  const guest = await bootGuest({
    kernel: img.kernel,
    initrd: img.initrd,
    append,
    serialSocketPath: path.join(dir, `bare-${i}.sock`),
    memoryMiB: 1024,
    cpus: 1,
    timeoutMs: 300_000,
  });
  try {
    const agent = await connectAgent(
      { transport: 'virtio-serial', socketPath: path.join(dir, `bare-${i}.sock`) },
      {
        timeoutMs: 240_000,
        logger: silentLogger,
        aborted: () => (guest.process.exitCode !== null ? 'QEMU exited' : undefined),
      },
    ).catch(async (e: unknown) => {
      throw new Error(
        `bare boot ${i}: ${e instanceof Error ? e.message : String(e)}\n${(await guest.consoleOutput()).slice(-3000)}`,
      );
    });
    const ms = Date.now() - guest.startedAt;
    agent.close();
    return ms;
  } finally {
    await guest.kill();
  }
}

async function main(): Promise<number> {
  const missing = missingForE2e();
  if (missing.length) {
    console.warn(`sandbox bench skipped: missing ${missing.join(', ')}`);
    return 0;
  }
  if (!fs.existsSync(path.join(REPO, 'dist/src/shim/main.js')))
    console.warn('note: dist/ is missing, the shim runs from source through tsx (slower start; run `npm run build`)');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ccgpu-bench-'));
  let ctd: TestContainerd | undefined;
  const live: string[] = [];
  try {
    const img = await guestImage();
    const config = writeE2eConfig(path.join(dir, 'etc'), img);
    const ctdDir = path.join(dir, 'containerd');
    ctd = await startContainerd({
      dir: ctdDir,
      shimBinDir: shimBinDir(path.join(dir, 'bin')),
      env: { KATA_CONF_FILE: config },
    });
    const tar = await buildBusyboxImageTar(path.join(dir, 'busybox.tar'), IMAGE);
    const imp = await ctd.ctr(['-n', 'default', 'images', 'import', '--no-unpack=false', tar]);
    if (imp.code !== 0) throw new Error(`ctr images import: ${imp.stderr}`);

    const createToRunning: number[] = [];
    const qemuToAgent: number[] = [];
    const bare: number[] = [];
    let shimMem: { rssKb: number; hwmKb: number } | undefined;
    let qemuMem: { rssKb: number; hwmKb: number } | undefined;
    let runcShimMem: { rssKb: number; hwmKb: number } | undefined;
    // sandbox and bare boots alternate, so load from other work on the machine hits both alike
    for (let i = 0; i < RUNS; i++) {
      const id = `bench-sandbox-${i}`;
      const t0 = Date.now();
      live.push(id);
      const r = await ctd.ctr(['-n', 'default', 'run', '-d', '--runtime', RUNTIME, IMAGE, id, 'sleep', '600'], {
        timeoutMs: 300_000,
      });
      if (r.code !== 0) throw new Error(`ctr run ${id}: ${r.stderr}\n${ctd.logs().slice(-3000)}`);
      await waitStatus(ctd, id, 'RUNNING');
      createToRunning.push(Date.now() - t0);
      const times = shimLogTimes(ctd.logs(), id);
      qemuToAgent.push(times.agentAt - times.qemuAt);
      if (i === 0) {
        await sleep(2_000); // let the shim settle after start-up
        shimMem = memoryOf(shimPidOf(ctdDir, id, 'containerd-shim-ccgpu-v2'));
        qemuMem = memoryOf(Number(fs.readFileSync(`/run/ccgpu/${id}/pid`, 'utf8').trim()));
        // the same containerd's runc shim with one running container
        const runcId = 'bench-runc';
        live.push(runcId);
        const rr = await ctd.ctr(['-n', 'default', 'run', '-d', IMAGE, runcId, 'sleep', '600']);
        if (rr.code !== 0) throw new Error(`ctr run ${runcId} (runc): ${rr.stderr}`);
        await waitStatus(ctd, runcId, 'RUNNING');
        await sleep(2_000);
        runcShimMem = memoryOf(shimPidOf(ctdDir, runcId, 'containerd-shim-runc-v2'));
        await removeTask(ctd, runcId);
        live.splice(live.indexOf(runcId), 1);
      }
      await removeTask(ctd, id);
      live.splice(live.indexOf(id), 1);
      const left = leftovers(id);
      if (left.length) throw new Error(`sandbox ${id} left ${left.join(', ')}`);
      // bare QEMU: the sandbox's kernel parameters, its virtio consoles swapped for the serial port bootGuest logs
      const append = times.append.replace(/\s*console=hvc\d+/g, '') + ' console=ttyS0';
      bare.push(await bareBootMs(img, append, dir, i));
    }
    const node = await idleNodeMemory();

    const startMed = median(createToRunning);
    const bootMed = median(qemuToAgent);
    const bareMed = median(bare);
    console.log(`sandbox start on containerd 1.6 + ccgpu shim + QEMU (TCG, 1 vCPU, 1024 MiB), ${RUNS} run(s)`);
    console.log(
      `  ctr run -d → task RUNNING:                     median ${startMed} ms  (runs ${createToRunning.join(', ')})`,
    );
    console.log(
      `  shim "starting QEMU" → "agent is serving":     median ${bootMed} ms  (runs ${qemuToAgent.join(', ')})`,
    );
    console.log(
      `  baseline, bare QEMU same kernel+initramfs → agent Health SERVING: median ${bareMed} ms  (runs ${bare.join(', ')})`,
    );
    console.log(`  ratio sandbox start (ctr run → RUNNING) / bare boot: ${(startMed / bareMed).toFixed(2)}x`);
    console.log(`  ratio shim QEMU → agent serving / bare boot:        ${(bootMed / bareMed).toFixed(2)}x`);
    console.log(`shim memory with one running sandbox`);
    console.log(`  containerd-shim-ccgpu-v2 (node): VmRSS ${mib(shimMem!.rssKb)}, VmHWM ${mib(shimMem!.hwmKb)}`);
    console.log(
      `  baseline containerd-shim-runc-v2, one runc container: VmRSS ${mib(runcShimMem!.rssKb)}, VmHWM ${mib(runcShimMem!.hwmKb)}`,
    );
    console.log(`  baseline idle node ${process.version}: VmRSS ${mib(node.rssKb)}`);
    console.log(
      `  ratio ccgpu shim / runc shim RSS: ${(shimMem!.rssKb / runcShimMem!.rssKb).toFixed(2)}x; / idle node: ${(shimMem!.rssKb / node.rssKb).toFixed(2)}x`,
    );
    console.log(`  (for scale: the sandbox's QEMU VmRSS ${mib(qemuMem!.rssKb)})`);
    return 0;
  } finally {
    for (const id of live) await removeTask(ctd!, id).catch(() => undefined);
    await ctd?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    console.error(`sandbox bench failed: ${e instanceof Error ? e.message : String(e)}`);
    process.exit(1);
  },
);
