/**
 * virtiofsd for `shared_fs = "virtio-fs"`: serves the sandbox's shared directory to QEMU over a vhost-user socket.
 * Started before QEMU and stopped after it. Uses the C virtiofsd's options (Debian bookworm ships it as
 * /usr/lib/qemu/virtiofsd); `sandbox=chroot` keeps it in the host mount namespace so container rootfs mounts made
 * under the shared directory after it started are visible to the guest.
 */
import fs from 'node:fs';
import type { Logger } from 'pino';
import { spawnLogged, type Spawned } from '../subprocess/index.js';
import { CcgpuError, Code } from '../errors/index.js';

export async function startVirtiofsd(o: {
  binary: string;
  socketPath: string;
  sharedDir: string;
  logger: Logger;
  timeoutMs?: number;
}): Promise<Spawned> {
  if (!fs.existsSync(o.binary)) {
    throw new CcgpuError(`virtio_fs_daemon ${o.binary} does not exist (shared_fs = "virtio-fs" needs virtiofsd)`, {
      code: Code.FailedPrecondition,
    });
  }
  fs.rmSync(o.socketPath, { force: true });
  const proc = spawnLogged(
    o.binary,
    [
      `--socket-path=${o.socketPath}`,
      '-o',
      `source=${o.sharedDir}`,
      '-o',
      'cache=auto',
      '-o',
      'sandbox=chroot',
      '-o',
      'announce_submounts',
      '-o',
      'no_posix_lock',
      '-f',
      '--thread-pool-size=1',
    ],
    { logger: o.logger, name: 'virtiofsd', classify: (l) => (/error|fail/i.test(l) ? 'error' : 'debug') },
  );
  const deadline = Date.now() + (o.timeoutMs ?? 10_000);
  while (!fs.existsSync(o.socketPath)) {
    if (!proc.running())
      throw new CcgpuError(`virtiofsd exited before creating ${o.socketPath}`, { code: Code.Internal });
    if (Date.now() > deadline) {
      proc.kill('SIGKILL');
      throw new CcgpuError(`virtiofsd did not create ${o.socketPath} in time`, { code: Code.DeadlineExceeded });
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  return proc;
}
