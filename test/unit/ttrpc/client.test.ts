import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { mkdtempSync, rmSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import {
  FrameParser,
  MAX_MESSAGE_LENGTH,
  MessageType,
  TtrpcClient,
  TtrpcError,
  decodeRequest,
  encodeFrame,
  encodeResponse,
  type Frame,
} from '../../../src/ttrpc/index.js';
import { startServer, type Harness } from './helpers.js';

let h: Harness | undefined;
const cleanups: Array<() => void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) c();
  await h?.cleanup();
  h = undefined;
});

/** A scripted raw server: records request frames; `respond` decides what to send back. */
async function rawServer(
  onFrame: (f: Frame, sock: net.Socket) => void,
): Promise<{ path: string; frames: Frame[]; sockets: net.Socket[] }> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ccgpu-ttrpc-raw-'));
  const p = path.join(dir, 's.sock');
  const frames: Frame[] = [];
  const sockets: net.Socket[] = [];
  const srv = net.createServer((sock) => {
    sockets.push(sock);
    const parser = new FrameParser({ frame: (f) => (frames.push(f), onFrame(f, sock)), oversized: () => undefined });
    sock.on('data', (c: Buffer) => parser.push(c));
    sock.on('error', () => undefined);
  });
  await new Promise<void>((r) => srv.listen(p, r));
  cleanups.push(() => {
    for (const s of sockets) s.destroy();
    srv.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return { path: p, frames, sockets };
}

describe('ttrpc client', () => {
  it('uses odd increasing stream ids, runs calls concurrently and matches out-of-order responses', async () => {
    const held: Frame[] = [];
    const srv = await rawServer((f, sock) => {
      held.push(f);
      if (held.length === 3) {
        // answer in reverse order, echoing the method name as payload
        for (const r of [...held].reverse()) {
          const m = decodeRequest(r.payload).method;
          sock.write(encodeFrame(r.streamId, MessageType.Response, 0, encodeResponse({ payload: Buffer.from(m) })));
        }
      }
    });
    const c = await TtrpcClient.connect(srv.path);
    cleanups.push(() => c.close());
    const results = await Promise.all(['A', 'B', 'C'].map((m) => c.call('svc', m, new Uint8Array())));
    expect(results.map((r) => Buffer.from(r).toString())).toEqual(['A', 'B', 'C']);
    expect(srv.frames.map((f) => f.streamId)).toEqual([1, 3, 5]);
    expect(srv.frames.every((f) => f.type === MessageType.Request && f.flags === 0)).toBe(true);
    expect(c.inFlight).toBe(0);
  });

  it('sends timeout_nano and default + per-call metadata', async () => {
    const srv = await rawServer((f, sock) => sock.write(encodeFrame(f.streamId, 2, 0, encodeResponse({}))));
    const c = await TtrpcClient.connect(srv.path, { metadata: { 'containerd-namespace-ttrpc': 'k8s.io' } });
    cleanups.push(() => c.close());
    await c.call('svc', 'M', Buffer.from('x'), { timeoutMs: 10_000, metadata: { traceparent: '00-abc' } });
    const r = decodeRequest(srv.frames[0]!.payload);
    expect(r.timeoutNano).toBe(10_000_000_000);
    expect(r.metadata).toEqual([
      { key: 'containerd-namespace-ttrpc', value: 'k8s.io' },
      { key: 'traceparent', value: '00-abc' },
    ]);
  });

  it('returns typed errors from status codes and times out locally', async () => {
    const srv = await rawServer((f, sock) => {
      const m = decodeRequest(f.payload).method;
      if (m === 'Missing')
        sock.write(encodeFrame(f.streamId, 2, 0, encodeResponse({ status: { code: 5, message: 'task x not found' } })));
      // 'Hang' is never answered
    });
    const c = await TtrpcClient.connect(srv.path);
    cleanups.push(() => c.close());
    const e = await c.call('svc', 'Missing', new Uint8Array()).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(TtrpcError);
    expect(e).toMatchObject({ code: 5, message: 'task x not found' });
    const t0 = Date.now();
    await expect(c.call('svc', 'Hang', new Uint8Array(), { timeoutMs: 100 })).rejects.toMatchObject({
      code: 4,
      message: 'ttrpc call svc/Hang timed out after 100ms',
    });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(90);
    expect(c.inFlight).toBe(0);
  });

  it('refuses to send a request over 4 MiB without touching the connection', async () => {
    const srv = await rawServer(() => undefined);
    const c = await TtrpcClient.connect(srv.path);
    cleanups.push(() => c.close());
    await expect(c.call('svc', 'Big', new Uint8Array(MAX_MESSAGE_LENGTH))).rejects.toMatchObject({ code: 8 });
    await expect(c.call('svc', 'Big', new Uint8Array(MAX_MESSAGE_LENGTH))).rejects.toThrow(
      /^message length 41943\d\d exceed maximum message size of 4194304$/,
    );
    await new Promise((r) => setTimeout(r, 30));
    expect(srv.frames).toHaveLength(0);
    expect(c.closed).toBe(false);
  });

  it('connection loss fails every pending call with Unavailable', async () => {
    const srv = await rawServer(() => undefined);
    const c = await TtrpcClient.connect(srv.path);
    const calls = [c.call('svc', 'A', new Uint8Array()), c.call('svc', 'B', new Uint8Array())];
    await new Promise((r) => setTimeout(r, 30));
    expect(c.inFlight).toBe(2);
    for (const s of srv.sockets) s.destroy();
    for (const p of calls) await expect(p).rejects.toMatchObject({ code: 14 });
    await expect(c.call('svc', 'C', new Uint8Array())).rejects.toMatchObject({ code: 14 });
    expect(c.closed).toBe(true);
  });

  it('round-trips through the real server with many concurrent calls', async () => {
    h = await startServer((s) =>
      s.register('echo', {
        Echo: async (req) => {
          await new Promise((r) => setTimeout(r, Math.random() * 20));
          return req;
        },
      }),
    );
    const c = await TtrpcClient.connect(`unix://${h.socketPath}`);
    cleanups.push(() => c.close());
    const inputs = Array.from({ length: 50 }, (_, i) => Buffer.from(`msg-${i}`));
    const outs = await Promise.all(inputs.map((b) => c.call('echo', 'Echo', b)));
    expect(outs.map((o) => Buffer.from(o).toString())).toEqual(inputs.map((b) => b.toString()));
  });

  it('an aborted signal cancels the call', async () => {
    const srv = await rawServer(() => undefined);
    const c = await TtrpcClient.connect(srv.path);
    cleanups.push(() => c.close());
    const ac = new AbortController();
    const p = c.call('svc', 'A', new Uint8Array(), { signal: ac.signal });
    ac.abort();
    await expect(p).rejects.toMatchObject({ code: 1 });
  });

  it('connect to a missing socket fails with Unavailable naming the path', async () => {
    await expect(TtrpcClient.connect('/nonexistent/ccgpu.sock')).rejects.toThrow(
      /cannot connect to \/nonexistent\/ccgpu.sock/,
    );
  });
});
