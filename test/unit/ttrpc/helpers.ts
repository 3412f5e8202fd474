/** Shared test helpers: a real server on a real unix socket, a raw socket reader that collects frames. */
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { mkdtempSync, rmSync } from 'node:fs';
import { FrameParser, TtrpcServer, type Frame } from '../../../src/ttrpc/index.js';

export function hex(s: string): Buffer {
  return Buffer.from(s.replace(/[^0-9a-f]/gi, ''), 'hex');
}

/** Build a byte string from hex pieces and quoted ASCII strings: `0a 17 "abc"`. */
export function bytes(spec: string): Buffer {
  const parts: Buffer[] = [];
  const re = /"([^"]*)"|([0-9a-fA-F]{2})/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(spec))) parts.push(m[1] !== undefined ? Buffer.from(m[1], 'utf8') : Buffer.from(m[2]!, 'hex'));
  return Buffer.concat(parts);
}

export interface Harness {
  dir: string;
  socketPath: string;
  server: TtrpcServer;
  cleanup(): Promise<void>;
}

export async function startServer(setup: (s: TtrpcServer) => void): Promise<Harness> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ccgpu-ttrpc-'));
  const socketPath = path.join(dir, 's.sock');
  const server = new TtrpcServer();
  setup(server);
  await server.listen(socketPath);
  return {
    dir,
    socketPath,
    server,
    async cleanup() {
      await server.close({ timeoutMs: 500 });
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A raw client socket that parses every frame it receives. */
export class RawPeer {
  readonly frames: Frame[] = [];
  private waiters: Array<() => void> = [];
  closed = false;

  private constructor(readonly sock: net.Socket) {
    const p = new FrameParser({
      frame: (f) => {
        this.frames.push(f);
        for (const w of this.waiters.splice(0)) w();
      },
      oversized: () => {
        throw new Error('unexpected oversized frame from server');
      },
    });
    sock.on('data', (c: Buffer) => p.push(c));
    sock.on('close', () => {
      this.closed = true;
      for (const w of this.waiters.splice(0)) w();
    });
  }

  static connect(socketPath: string): Promise<RawPeer> {
    return new Promise((resolve, reject) => {
      const s = net.createConnection(socketPath, () => resolve(new RawPeer(s)));
      s.once('error', reject);
    });
  }

  write(b: Uint8Array): Promise<void> {
    return new Promise((resolve, reject) => this.sock.write(b, (e) => (e ? reject(e) : resolve())));
  }

  /** Wait until `n` frames have arrived in total. */
  async waitFrames(n: number, timeoutMs = 5000): Promise<Frame[]> {
    const until = Date.now() + timeoutMs;
    while (this.frames.length < n) {
      if (this.closed) throw new Error(`connection closed after ${this.frames.length} of ${n} frames`);
      const left = until - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${n} frames (got ${this.frames.length})`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, left);
        this.waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
    return this.frames.slice(0, n);
  }

  /** Raw bytes of frame i as they were on the wire (header + payload). */
  static wire(f: Frame): Buffer {
    const h = Buffer.alloc(10);
    h.writeUInt32BE(f.payload.length, 0);
    h.writeUInt32BE(f.streamId, 4);
    h.writeUInt8(f.type, 8);
    h.writeUInt8(f.flags, 9);
    return Buffer.concat([h, f.payload]);
  }

  close(): void {
    this.sock.destroy();
  }
}
