/**
 * Differential test against a real Go ttrpc server: containerd's own containerd-shim-runc-v2 serving
 * containerd.task.v2.Task on a unix socket. Our client must interoperate with it, and for the wire cases both
 * implementations define (unknown service/method, undecodable Request, even stream id, oversized frame) our server
 * must answer with the same status code and message.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  MAX_MESSAGE_LENGTH,
  MessageType,
  TtrpcClient,
  TtrpcServer,
  decodeResponse,
  encodeFrame,
  encodeRequest,
} from '../../../src/ttrpc/index.js';
import { TaskClient } from '../../../src/protocols/index.js';
import { RawPeer } from './helpers.js';

const SHIM = 'containerd-shim-runc-v2';
const haveShim = spawnSync('sh', ['-c', `command -v ${SHIM} && command -v mkfifo`]).status === 0;
if (!haveShim) console.warn(`skipping Go ttrpc interop tests: ${SHIM} (containerd) or mkfifo is not installed`);

const TASK = 'containerd.task.v2.Task';

describe.skipIf(!haveShim)('interop with Go ttrpc (containerd-shim-runc-v2; needs containerd installed)', () => {
  let dir = '';
  let shimSock = '';
  let shim: ChildProcess | undefined;
  let logReader: ChildProcess | undefined;
  let ours: TtrpcServer | undefined;
  let ourSock = '';

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'ccgpu-goshim-'));
    shimSock = path.join(dir, 'shim.sock');
    // the Go shim writes its log to a FIFO named "log" in its cwd (the bundle), as containerd sets up
    spawnSync('mkfifo', [path.join(dir, 'log')]);
    logReader = spawn('cat', [path.join(dir, 'log')], { stdio: ['ignore', 'ignore', 'ignore'] });
    shim = spawn(
      SHIM,
      ['-namespace', 'default', '-id', 'interop', '-address', path.join(dir, 'containerd.sock'), '-socket', shimSock],
      {
        cwd: dir,
        env: { ...process.env, TTRPC_ADDRESS: path.join(dir, 'containerd.sock.ttrpc') },
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    const until = Date.now() + 10_000;
    while (!existsSync(shimSock)) {
      if (Date.now() > until || shim.exitCode !== null) throw new Error(`${SHIM} did not start serving ${shimSock}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    ours = new TtrpcServer().register(TASK, { Connect: () => Uint8Array.from([0x08, 0x01]) });
    ourSock = path.join(dir, 'ours.sock');
    await ours.listen(ourSock);
  });

  afterAll(async () => {
    if (shim && shim.exitCode === null) shim.kill('SIGKILL');
    if (logReader && logReader.exitCode === null) logReader.kill('SIGKILL');
    await ours?.close({ timeoutMs: 200 });
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('our typed client talks to the Go server: Connect and a NotFound State', async () => {
    const c = await TtrpcClient.connect(shimSock);
    try {
      const task = new TaskClient(c, { defaults: { metadata: { 'containerd-namespace-ttrpc': 'default' } } });
      const res = await task.call('Connect', { id: 'interop' }, { timeoutMs: 5000 });
      expect(res.shimPid).toBe(shim!.pid);
      expect(res.taskPid).toBe(0);
      await expect(task.call('State', { id: 'nope' })).rejects.toMatchObject({
        code: 5,
        message: 'container not created: not found',
      });
      // many concurrent calls on one connection
      const all = await Promise.all(Array.from({ length: 20 }, () => task.call('Connect', { id: 'interop' })));
      expect(new Set(all.map((r) => r.shimPid))).toEqual(new Set([shim!.pid]));
    } finally {
      c.close();
    }
  });

  it('our server answers exactly like Go for unknown service/method, bad Request, even stream id and oversize', async () => {
    const header = Buffer.alloc(10);
    header.writeUInt32BE(MAX_MESSAGE_LENGTH + 1, 0);
    header.writeUInt32BE(9, 4);
    header.writeUInt8(MessageType.Request, 8);
    const script: Buffer[] = [
      encodeFrame(1, MessageType.Request, 0, encodeRequest({ service: 'foo', method: 'Connect' })),
      encodeFrame(3, MessageType.Request, 0, encodeRequest({ service: TASK, method: 'Nope' })),
      encodeFrame(5, MessageType.Request, 0, Buffer.from([0x0a, 0x50, 0x41])),
      encodeFrame(6, MessageType.Request, 0, encodeRequest({ service: TASK, method: 'Connect' })),
      Buffer.concat([header, Buffer.alloc(MAX_MESSAGE_LENGTH + 1, 0x41)]),
    ];
    const run = async (sockPath: string): Promise<Array<{ id: number; code: number; message: string }>> => {
      const p = await RawPeer.connect(sockPath);
      try {
        for (const b of script) {
          const before = p.frames.length;
          await p.write(b);
          await p.waitFrames(before + 1, 5000);
        }
        return p.frames.map((f) => {
          const s = decodeResponse(f.payload).status;
          return { id: f.streamId, code: s.code, message: s.message };
        });
      } finally {
        p.close();
      }
    };
    const go = await run(shimSock);
    const mine = await run(ourSock);
    expect(go[0]).toEqual({ id: 1, code: 12, message: 'service foo' });
    expect(go[2]!.message).toMatch(/^unmarshal request error: /);
    // the text after the prefix is the decoder's own wording (Go: "unexpected EOF")
    const norm = (l: typeof go) =>
      l.map((x) => ({ ...x, message: x.message.replace(/^(unmarshal request error: ).*/, '$1…') }));
    expect(norm(mine)).toEqual(norm(go));
  });

  it('Shutdown over ttrpc makes the Go shim exit and our client sees the connection close', async () => {
    const c = await TtrpcClient.connect(shimSock);
    const exited = new Promise<number | null>((r) => shim!.once('exit', (code) => r(code)));
    await new TaskClient(c).call('Shutdown', { id: 'interop', now: true }).catch(() => undefined);
    expect(await exited).toBe(0);
    await c.waitClosed();
    expect(c.closed).toBe(true);
    await expect(new TaskClient(c).call('Connect', { id: 'interop' })).rejects.toMatchObject({ code: 14 });
  });
});
