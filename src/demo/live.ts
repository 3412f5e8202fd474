/**
 * Demo step (e), the live path on this machine: build the guest image (Debian cloud kernel + busybox + node + runc +
 * the ccgpu agent), start a private containerd, import a busybox image, and run
 * `ctr run --runtime io.containerd.ccgpu.v2 … echo hello`: containerd starts our shim, which boots a QEMU guest
 * (software emulation here; SNP/TDX with KVM on real hosts) with the coco-dev flavour, and our agent runs the
 * container with runc inside it. Then checks that the sandbox left nothing behind.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { buildGuestImage, defaultAgentEntry } from '../guest-image/index.js';
import { buildBusyboxImageTar } from './busybox-image.js';
import { PrivateContainerd } from './containerd-daemon.js';
import type { DemoContext, StepOutcome } from './types.js';

const IMAGE = 'docker.io/library/ccgpu-busybox:demo';
const RUNTIME = 'io.containerd.ccgpu.v2';
const VIRTIOFSD = '/usr/lib/qemu/virtiofsd';
const SANDBOX_ID = 'ccgpu-demo-hello';

/** Whether `cmd` is on PATH. */
export function haveCommand(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
}

/** What this machine lacks for the live step (empty: it can run). */
export function liveDemoMissing(packageRoot: string): string[] {
  const missing: string[] = [];
  if (process.getuid?.() !== 0) missing.push('root (mounts, containerd)');
  for (const c of ['qemu-system-x86_64', 'containerd', 'ctr', 'runc']) if (!haveCommand(c)) missing.push(c);
  if (!fs.existsSync(VIRTIOFSD)) missing.push(`${VIRTIOFSD} (qemu-system-common)`);
  if (!fs.existsSync('/bin/busybox')) missing.push('/bin/busybox (busybox-static)');
  if (!fs.existsSync(path.join(packageRoot, 'dist/src/shim/main.js')))
    missing.push('dist/src/shim/main.js (npm run build)');
  return missing;
}

/** The shipped coco-dev flavour plus a config.d drop-in for this machine: TCG, virtio-serial agent, virtio-fs. */
export function writeLiveConfig(
  dir: string,
  packageRoot: string,
  img: { kernel: string; initrd: string },
  extra = '',
): string {
  fs.mkdirSync(path.join(dir, 'config.d'), { recursive: true });
  const base = path.join(dir, 'configuration.toml');
  fs.copyFileSync(path.join(packageRoot, 'configs/configuration-qemu-coco-dev.toml'), base);
  fs.writeFileSync(
    path.join(dir, 'config.d/50-demo.toml'),
    `# ccgpu demo on a machine without KVM/TEE: software emulation, virtio-serial agent channel (no vhost-vsock)
[hypervisor.qemu]
path = "/usr/bin/qemu-system-x86_64"
valid_hypervisor_paths = ["/usr/bin/qemu-system-x86_64"]
kernel = "${img.kernel}"
initrd = "${img.initrd}"
image = ""
firmware = ""
accel = "tcg"
confidential_guest = false
default_memory = 1024
default_vcpus = 1
shared_fs = "virtio-fs"
virtio_fs_daemon = "${VIRTIOFSD}"
valid_virtio_fs_daemon_paths = ["${VIRTIOFSD}"]
kernel_params = ""

[agent.kata]
agent_transport = "virtio-serial"
dial_timeout = 180

[runtime]
create_container_timeout = 300
${extra}`,
  );
  return base;
}

/** Processes, state and mounts a sandbox may leave behind (empty when its teardown was complete). */
export function sandboxLeftovers(id: string): string[] {
  const found: string[] = [];
  const ps = spawnSync('ps', ['-eo', 'args'], { encoding: 'utf8' }).stdout ?? '';
  if (ps.split('\n').some((l) => l.includes('qemu-system') && l.includes(`sandbox-${id}`)))
    found.push(`qemu process for ${id}`);
  if (fs.existsSync(`/run/ccgpu/${id}`)) found.push(`/run/ccgpu/${id}`);
  if (fs.readFileSync('/proc/self/mountinfo', 'utf8').includes(`/run/ccgpu/${id}/`))
    found.push(`mounts under /run/ccgpu/${id}`);
  return found;
}

export async function runLiveDemo(ctx: DemoContext): Promise<StepOutcome> {
  const { out, workDir, packageRoot } = ctx;
  const missing = liveDemoMissing(packageRoot);
  if (missing.length > 0) return { status: 'skip', summary: `cannot run here: missing ${missing.join(', ')}` };

  out.say('Building the guest image (cached by content hash; the first build downloads linux-image-cloud-amd64)...');
  const entry = defaultAgentEntry();
  if (!entry) return { status: 'skip', summary: 'the agent source (src/agent/main.ts) is not in this package' };
  let last = '';
  const img = await buildGuestImage({
    agentEntry: entry,
    onProgress: (e) => {
      if (e.step !== last) out.say(`  image: ${e.message}`);
      last = e.step;
    },
  });
  out.say(`kernel ${img.kernel}`);
  out.say(`initrd ${img.initrd}`);

  const configFile = writeLiveConfig(path.join(workDir, 'etc'), packageRoot, img);
  const shimDir = path.join(workDir, 'bin');
  fs.mkdirSync(shimDir, { recursive: true });
  fs.writeFileSync(
    path.join(shimDir, 'containerd-shim-ccgpu-v2'),
    `#!/bin/sh\nexec ${process.execPath} ${path.join(packageRoot, 'dist/src/shim/main.js')} "$@"\n`,
    { mode: 0o755 },
  );
  out.say(`Starting a private containerd in ${workDir}/containerd (KATA_CONF_FILE=${configFile})`);
  const ctd = await PrivateContainerd.start(path.join(workDir, 'containerd'), shimDir, { KATA_CONF_FILE: configFile });
  try {
    const tar = await buildBusyboxImageTar(path.join(workDir, 'busybox.tar'), IMAGE);
    const imp = await ctd.ctr(['images', 'import', tar]);
    if (imp.code !== 0) return { status: 'fail', summary: `ctr images import failed: ${imp.stderr.trim()}` };
    out.say(`$ ctr run --rm --runtime ${RUNTIME} ${IMAGE} ${SANDBOX_ID} echo hello`);
    const t0 = Date.now();
    const r = await ctd.ctr(['run', '--rm', '--runtime', RUNTIME, IMAGE, SANDBOX_ID, 'echo', 'hello'], {
      timeoutMs: 300_000,
    });
    const secs = ((Date.now() - t0) / 1000).toFixed(1);
    out.show(r.stdout + (r.stderr ? r.stderr : ''));
    if (r.code !== 0 || r.stdout !== 'hello\n') {
      out.say(`containerd log: ${ctd.logFile}`);
      return { status: 'fail', summary: `ctr run exited ${r.code} with ${JSON.stringify(r.stdout)}` };
    }
    const left = sandboxLeftovers(SANDBOX_ID);
    if (left.length > 0) return { status: 'fail', summary: `hello printed, but the sandbox left ${left.join(', ')}` };
    out.say(
      `The container ran in a QEMU guest under the ccgpu agent (boot + run + teardown: ${secs}s); nothing left behind.`,
    );
    return { status: 'pass', summary: `ctr run … echo hello printed "hello" from a QEMU guest in ${secs}s` };
  } finally {
    await ctd.stop();
  }
}
