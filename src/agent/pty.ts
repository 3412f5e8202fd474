/**
 * A pseudo-terminal pair for runc's terminal mode. In the foreground (no --console-socket) runc copies the
 * container's pty to its own stdio, and insists that one of its stdio fds is a terminal (else it opens /dev/tty,
 * which a PID-1 agent has none of). So the agent gives runc the slave of a pty of its own and reads/writes the
 * master. Opening a pty needs two ioctls Node lacks (unlock, get the slave number): the `native/` addon does them.
 */
import { closeSync, constants, openSync } from 'node:fs';
import { loadNative } from '../../native/index.js';
import { CcgpuError, Code } from '../errors/index.js';

const TIOCSPTLCK = 0x40045431;
const TIOCGPTN = 0x80045430;

export interface Pty {
  master: number;
  slave: number;
  slavePath: string;
}

export function openPty(ptmx = '/dev/ptmx'): Pty {
  let native;
  try {
    native = loadNative();
  } catch (e) {
    throw new CcgpuError(`a terminal needs the native addon to open a pty: ${(e as Error).message}`, {
      code: Code.FailedPrecondition,
    });
  }
  const master = openSync(ptmx, constants.O_RDWR | constants.O_NOCTTY | constants.O_NONBLOCK);
  try {
    native.ioctl(master, TIOCSPTLCK, new Uint8Array(4));
    const n = new Uint8Array(4);
    native.ioctl(master, TIOCGPTN, n);
    const slavePath = `/dev/pts/${Buffer.from(n).readUInt32LE(0)}`;
    const slave = openSync(slavePath, constants.O_RDWR | constants.O_NOCTTY);
    return { master, slave, slavePath };
  } catch (e) {
    closeSync(master);
    throw new CcgpuError(`cannot open a pty via ${ptmx}: ${(e as Error).message}`, { code: Code.Internal });
  }
}
