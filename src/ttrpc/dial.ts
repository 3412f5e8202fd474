/** Connect a Duplex to an address (unix, hybrid vsock, AF_VSOCK through the native addon). */
import net from 'node:net';
import { Code, errorMessage } from '../errors/index.js';
import { parseAddress } from './address.js';
import { dialHybridVsock, type HybridVsockOptions } from './hvsock.js';
import { TtrpcError } from './errors.js';

export type DialOptions = HybridVsockOptions;

function connectUnix(path: string, timeoutMs: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.createConnection(path);
    const t = setTimeout(() => {
      s.destroy();
      reject(new TtrpcError(Code.DeadlineExceeded, `connecting to ${path} timed out after ${timeoutMs}ms`));
    }, timeoutMs);
    s.once('connect', () => {
      clearTimeout(t);
      resolve(s);
    });
    s.once('error', (e) => {
      clearTimeout(t);
      reject(new TtrpcError(Code.Unavailable, `cannot connect to ${path}: ${errorMessage(e)}`, e));
    });
  });
}

/** Dial `unix://…`, `hvsock://<uds>:<port>` or `vsock://<cid>:<port>`. */
export async function dial(address: string, opts: DialOptions = {}): Promise<net.Socket> {
  const a = parseAddress(address);
  switch (a.kind) {
    case 'unix':
      return connectUnix(a.path, opts.dialTimeoutMs ?? 10_000);
    case 'hvsock':
      return dialHybridVsock(a.path, a.port, opts);
    case 'vsock': {
      const native = await import('../../native/index.js');
      return native.connectVsock(a.cid, a.port, { timeoutMs: opts.dialTimeoutMs ?? 30_000 });
    }
  }
}
