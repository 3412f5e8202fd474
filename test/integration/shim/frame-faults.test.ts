/**
 * Faults on the shim's ttrpc socket (issue 3 acceptance, "a malformed or 5 MiB ttrpc frame → error response, shim
 * survives"), against a real shim daemon started the way containerd starts it: `containerd-shim-ccgpu-v2 -namespace N
 * -address A -id X start` in a bundle directory, then raw frames on the unix socket address it prints.
 * The error responses are checked byte for byte where cdi-shim-agent-protocols.md defines them (checks 3, 5 and 6).
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeRequest, decodeResponse, TtrpcClient, TtrpcError } from '../../../src/ttrpc/index.js';
import { TaskClient } from '../../../src/protocols/index.js';
import { Code } from '../../../src/errors/index.js';

const REPO = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../../..');
const isRoot = process.getuid?.() === 0;
// `start` creates its socket under /run/containerd/s, as containerd expects
if (!isRoot) console.warn('SKIP shim frame faults: needs root (the shim socket lives in /run/containerd/s)');

const TASK = 'containerd.task.v2.Task';

/** Reads whole ttrpc frames off a raw socket. */
class FrameReader {
  private buf = Buffer.alloc(0);
  private waiters: Array<() => void> = [];
  closed = false;

  constructor(readonly sock: net.Socket) {
    sock.on('data', (d: Buffer) => {
      this.buf = Buffer.concat([this.buf, d]);
      this.wake();
    });
    sock.on('close', () => {
      this.closed = true;
      this.wake();
    });
    sock.on('error', () => undefined);
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    w.forEach((f) => f());
  }

  /** The next complete frame's raw bytes (header included). */
  async next(timeoutMs = 10_000): Promise<Buffer> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (this.buf.length >= 10) {
        const n = 10 + this.buf.readUInt32BE(0);
        if (this.buf.length >= n) {
          const f = this.buf.subarray(0, n);
          this.buf = this.buf.subarray(n);
          return Buffer.from(f);
        }
      }
      if (this.closed) throw new Error(`connection closed with ${this.buf.length} unread bytes and no complete frame`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no complete frame within ${timeoutMs} ms (${this.buf.length} bytes buffered)`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, left);
        this.waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
  }
}

function header(length: number, streamId: number, type: number, flags = 0): Buffer {
  const h = Buffer.alloc(10);
  h.writeUInt32BE(length, 0);
  h.writeUInt32BE(streamId, 4);
  h.writeUInt8(type, 8);
  h.writeUInt8(flags, 9);
  return h;
}

function connectRaw(address: string): Promise<{ sock: net.Socket; reader: FrameReader }> {
  return new Promise((resolve, reject) => {
    const sock = net.createConnection(address.replace(/^unix:\/\//, ''));
    sock.once('connect', () => resolve({ sock, reader: new FrameReader(sock) }));
    sock.once('error', reject);
  });
}

function write(sock: net.Socket, b: Buffer): Promise<void> {
  return new Promise((resolve, reject) => sock.write(b, (e) => (e ? reject(e) : resolve())));
}

describe.skipIf(!isRoot)('shim daemon: malformed and oversized ttrpc frames', () => {
  let dir: string;
  let bundle: string;
  let address: string;
  let shimPid: number;
  const id = `frame-faults-${process.pid}`;

  /** A fresh connection still gets answers: Connect names the shim, State of an unknown container is NotFound. */
  async function shimStillServes(): Promise<void> {
    expect(() => process.kill(shimPid, 0), 'the shim process is gone').not.toThrow();
    const ttrpc = await TtrpcClient.connect(address, { metadata: { 'containerd-namespace-ttrpc': 'faults' } });
    try {
      const task = new TaskClient(ttrpc);
      const c = await task.call('Connect', { id: '' }, { timeoutMs: 10_000 });
      expect(c.shimPid).toBe(shimPid);
      const err = await task.call('State', { id: 'nope' }, { timeoutMs: 10_000 }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(TtrpcError);
      expect((err as TtrpcError).code).toBe(Code.NotFound);
    } finally {
      ttrpc.close();
    }
  }

  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ccgpu-frame-faults-'));
    bundle = path.join(dir, 'bundle');
    fs.mkdirSync(bundle);
    fs.writeFileSync(path.join(bundle, 'config.json'), JSON.stringify({ ociVersion: '1.0.2', annotations: {} }));
    const loader = pathToFileURL(path.join(REPO, 'node_modules/tsx/dist/loader.mjs')).href;
    const r = spawnSync(
      process.execPath,
      [
        '--import',
        loader,
        path.join(REPO, 'src/shim/main.ts'),
        '-namespace',
        'faults',
        '-address',
        path.join(dir, 'containerd.sock'),
        '-id',
        id,
        'start',
      ],
      {
        cwd: bundle,
        encoding: 'utf8',
        timeout: 60_000,
        // no containerd: events have nowhere to go (none are sent without a task); the daemon's stderr is kept
        env: {
          ...process.env,
          TTRPC_ADDRESS: path.join(dir, 'no-containerd.ttrpc'),
          CCGPU_SHIM_STDERR: path.join(dir, 'shim-stderr.log'),
        },
      },
    );
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    address = r.stdout;
    expect(address).toMatch(/^unix:\/\/\/run\/containerd\/s\/[0-9a-f]{64}$/);
    shimPid = Number(fs.readFileSync(path.join(bundle, 'shim.pid'), 'utf8'));
    expect(shimPid).toBeGreaterThan(0);
  }, 90_000);

  afterAll(async () => {
    if (shimPid) {
      // Shutdown with no sandbox makes the daemon exit; SIGKILL if it does not
      try {
        const ttrpc = await TtrpcClient.connect(address);
        await new TaskClient(ttrpc).call('Shutdown', { id, now: true }, { timeoutMs: 5_000 }).catch(() => undefined);
        ttrpc.close();
      } catch {
        /* already gone */
      }
      for (let i = 0; i < 50; i++) {
        try {
          process.kill(shimPid, 0);
        } catch {
          break;
        }
        await new Promise((r) => setTimeout(r, 100));
      }
      try {
        process.kill(shimPid, 'SIGKILL');
      } catch {
        /* exited */
      }
    }
    if (address) fs.rmSync(address.replace(/^unix:\/\//, ''), { force: true });
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  }, 30_000);

  it('a header declaring 5 MiB gets ResourceExhausted (golden bytes), the same connection keeps working', async () => {
    const { sock, reader } = await connectRaw(address);
    try {
      const length = 5 * 1024 * 1024;
      await write(sock, header(length, 1, 0x1));
      // Response on stream 1, status{code 8, "message length 5242880 exceed maximum message size of 4194304"}
      const golden = Buffer.concat([
        Buffer.from('00000043' + '00000001' + '02' + '00' + '0a41' + '0808' + '123d', 'hex'),
        Buffer.from('message length 5242880 exceed maximum message size of 4194304'),
      ]);
      expect((await reader.next()).toString('hex')).toBe(golden.toString('hex'));
      // the announced 5 MiB follow; the shim discards them and stays in step with the stream
      const chunk = Buffer.alloc(256 * 1024, 0x5a);
      for (let sent = 0; sent < length; sent += chunk.length) await write(sock, chunk);
      const body = encodeRequest({
        service: TASK,
        method: 'Connect',
        payload: new Uint8Array(0),
        timeoutNano: 0,
        metadata: [],
      });
      await write(sock, Buffer.concat([header(body.length, 3, 0x1), body]));
      const f = await reader.next(20_000);
      expect(f.subarray(4, 10).toString('hex')).toBe('000000030200');
      const res = decodeResponse(f.subarray(10));
      expect(res.status?.code ?? 0).toBe(0);
      // ConnectResponse field 1 (shim_pid) is the daemon's pid
      expect(
        Buffer.from(res.payload ?? [])
          .subarray(0, 1)
          .toString('hex'),
      ).toBe('08');
      expect(reader.closed).toBe(false);
    } finally {
      sock.destroy();
    }
    await shimStillServes();
  }, 60_000);

  it('a Request whose envelope is not protobuf gets InvalidArgument "unmarshal request error"', async () => {
    const { sock, reader } = await connectRaw(address);
    try {
      // field 1 (service) announcing a length far past the end of the payload
      const garbage = Buffer.from('0affffffff0f0102', 'hex');
      await write(sock, Buffer.concat([header(garbage.length, 1, 0x1), garbage]));
      const f = await reader.next();
      expect(f.subarray(4, 10).toString('hex')).toBe('000000010200');
      // Response{status{code 3, message ...}}: 0a <len> 08 03 12 <len> "unmarshal request error: ..."
      expect(f.subarray(10, 14).toString('hex')).toMatch(/^0a..0803$/);
      const res = decodeResponse(f.subarray(10));
      expect(res.status?.code).toBe(Code.InvalidArgument);
      expect(res.status?.message).toMatch(/^unmarshal request error: /);
    } finally {
      sock.destroy();
    }
    await shimStillServes();
  }, 30_000);

  it('a State request whose payload is not a StateRequest gets InvalidArgument', async () => {
    const { sock, reader } = await connectRaw(address);
    try {
      const body = encodeRequest({
        service: TASK,
        method: 'State',
        payload: Buffer.from('0affffffff0f', 'hex'),
        timeoutNano: 0,
        metadata: [],
      });
      await write(sock, Buffer.concat([header(body.length, 1, 0x1), body]));
      const res = decodeResponse((await reader.next()).subarray(10));
      expect(res.status?.code).toBe(Code.InvalidArgument);
      expect(res.status?.message).toMatch(/^unmarshal request error: /);
    } finally {
      sock.destroy();
    }
    await shimStillServes();
  }, 30_000);

  it('an even stream id and an unknown service get the protocol errors byte for byte', async () => {
    const { sock, reader } = await connectRaw(address);
    try {
      const body = encodeRequest({
        service: TASK,
        method: 'Connect',
        payload: new Uint8Array(0),
        timeoutNano: 0,
        metadata: [],
      });
      await write(sock, Buffer.concat([header(body.length, 2, 0x1), body]));
      const msg = 'StreamID must be odd for client initiated streams';
      const even = Buffer.concat([
        Buffer.from('00000037' + '00000002' + '0200' + '0a35' + '0803' + '1231', 'hex'),
        Buffer.from(msg),
      ]);
      expect((await reader.next()).toString('hex')).toBe(even.toString('hex'));
      const foo = encodeRequest({
        service: 'foo',
        method: 'Bar',
        payload: new Uint8Array(0),
        timeoutNano: 0,
        metadata: [],
      });
      await write(sock, Buffer.concat([header(foo.length, 3, 0x1), foo]));
      // check 5: unknown service foo → code 12, "service foo"
      const golden = Buffer.concat([
        Buffer.from('00000011' + '00000003' + '0200' + '0a0f' + '080c' + '120b', 'hex'),
        Buffer.from('service foo'),
      ]);
      expect((await reader.next()).toString('hex')).toBe(golden.toString('hex'));
    } finally {
      sock.destroy();
    }
    await shimStillServes();
  }, 30_000);

  it('a client that dies halfway through a frame does not take the shim down', async () => {
    const { sock } = await connectRaw(address);
    const body = encodeRequest({
      service: TASK,
      method: 'Connect',
      payload: new Uint8Array(0),
      timeoutNano: 0,
      metadata: [],
    });
    const frame = Buffer.concat([header(body.length, 1, 0x1), body]);
    await write(sock, frame.subarray(0, 7)); // part of the header
    sock.destroy();
    const second = await connectRaw(address);
    await write(second.sock, frame.subarray(0, frame.length - 3)); // header and part of the payload
    second.sock.destroy();
    await new Promise((r) => setTimeout(r, 200));
    await shimStillServes();
  }, 30_000);
});
