/**
 * A listening unix socket whose fd is handed to a child process (QEMU's `-qmp unix:fd=3`, the shim daemon's fd 3),
 * without the parent keeping it: Node unlinks a unix socket path when its server closes, so the path is hard-linked
 * aside before the parent's copy is closed and put back afterwards. The child's inherited fd keeps the socket alive.
 */
import fs from 'node:fs';
import net from 'node:net';

export interface InheritableListener {
  path: string;
  /** The listening fd, valid until `release()`; pass it in `stdio`. */
  fd: number;
  /** Closes this process's copy, leaving the socket file in place for the child that inherited the fd. */
  release(): Promise<void>;
}

export async function createInheritableUnixListener(socketPath: string, mode = 0o600): Promise<InheritableListener> {
  fs.rmSync(socketPath, { force: true });
  const server = net.createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(socketPath, () => resolve());
  });
  fs.chmodSync(socketPath, mode);
  const fd = (server as unknown as { _handle?: { fd?: number } })._handle?.fd;
  if (typeof fd !== 'number' || fd < 0) {
    server.close();
    throw new Error(`cannot get the fd of the listener at ${socketPath}`);
  }
  // never accept in this process: the child owns the connections
  server.on('connection', (s: net.Socket) => s.destroy());
  return {
    path: socketPath,
    fd,
    release: async () => {
      const keep = `${socketPath}.keep-${process.pid}`;
      fs.rmSync(keep, { force: true });
      fs.linkSync(socketPath, keep);
      await new Promise<void>((resolve) => server.close(() => resolve()));
      fs.renameSync(keep, socketPath);
    },
  };
}
