/**
 * `containerd-shim-ccgpu-v2 ... delete`: called when containerd cannot reach the shim. Kills the sandbox's QEMU if it
 * is still running, unmounts what the shim mounted, removes the sandbox state, and writes a raw DeleteResponse
 * protobuf on stdout.
 */
import fs from 'node:fs';
import path from 'node:path';
import { messageCodec, timestampFromDate, type DeleteResponse } from '../protocols/index.js';
import { DEFAULT_RUN_ROOT } from '../sandbox/sandbox.js';
import { isMountPoint, unmountIfMounted } from '../sandbox/rootfs.js';
import type { ShimFlags } from './flags.js';

function mountsUnder(dir: string): string[] {
  try {
    return fs
      .readFileSync('/proc/self/mountinfo', 'utf8')
      .split('\n')
      .map((l) => l.split(' ')[4]?.replace(/\\040/g, ' ') ?? '')
      .filter((m) => m.startsWith(dir + '/'))
      .sort((a, b) => b.length - a.length);
  } catch {
    return [];
  }
}

export async function shimDelete(flags: ShimFlags, opts: { runRoot?: string } = {}): Promise<Uint8Array> {
  const bundle = flags.bundle || process.cwd();
  const runDir = path.join(opts.runRoot ?? DEFAULT_RUN_ROOT, flags.id);
  const pidFile = path.join(runDir, 'pid');
  if (fs.existsSync(pidFile)) {
    const pid = Number(fs.readFileSync(pidFile, 'utf8').trim());
    if (pid > 1) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
  }
  for (const m of mountsUnder(runDir)) await unmountIfMounted(m);
  const rootfs = path.join(bundle, 'rootfs');
  if (isMountPoint(rootfs)) await unmountIfMounted(rootfs);
  fs.rmSync(runDir, { recursive: true, force: true });
  const resp: Partial<DeleteResponse> = { pid: 0, exitStatus: 137, exitedAt: timestampFromDate(new Date()) };
  return messageCodec<Partial<DeleteResponse>>('containerd.task.v2.DeleteResponse').encode(resp);
}
