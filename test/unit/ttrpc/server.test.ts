import { existsSync, statSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import {
  MAX_MESSAGE_LENGTH,
  MessageType,
  TtrpcClient,
  TtrpcError,
  decodeResponse,
  encodeFrame,
  encodeRequest,
  type CallContext,
} from '../../../src/ttrpc/index.js';
import { NotFoundError } from '../../../src/errors/index.js';
import { RawPeer, bytes, startServer, type Harness } from './helpers.js';

let h: Harness | undefined;
const peers: RawPeer[] = [];
afterEach(async () => {
  for (const p of peers.splice(0)) p.close();
  await h?.cleanup();
  h = undefined;
});

async function peer(): Promise<RawPeer> {
  const p = await RawPeer.connect(h!.socketPath);
  peers.push(p);
  return p;
}

function req(streamId: number, service: string, method: string, payload?: Uint8Array, extra: object = {}): Buffer {
  return encodeFrame(streamId, MessageType.Request, 0, encodeRequest({ service, method, payload, ...extra }));
}

const TASK = 'containerd.task.v2.Task';

describe('ttrpc server over a real unix socket', () => {
  it('check 2: Shutdown returning Empty answers exactly 00 00 00 02 00 00 00 01 02 00 0a 00', async () => {
    h = await startServer((s) => s.register(TASK, { Shutdown: () => new Uint8Array(0) }));
    expect(statSync(h.socketPath).mode & 0o777).toBe(0o600);
    const p = await peer();
    await p.write(req(1, TASK, 'Shutdown', bytes('0a 03 61 62 63')));
    const [f] = await p.waitFrames(1);
    expect(RawPeer.wire(f!).toString('hex')).toBe(bytes('00 00 00 02 00 00 00 01 02 00 0a 00').toString('hex'));
  });

  it('check 3: a handler throwing NotFound("not found") on stream 3 gives the golden error frame', async () => {
    h = await startServer((s) =>
      s.register(TASK, {
        Connect: () => bytes('08 64 10 c8 01'),
        State: () => {
          throw new NotFoundError('not found');
        },
      }),
    );
    const p = await peer();
    await p.write(req(1, TASK, 'Connect'));
    await p.write(req(3, TASK, 'State'));
    const frames = await p.waitFrames(2);
    const byId = new Map(frames.map((f) => [f.streamId, RawPeer.wire(f).toString('hex')]));
    // check 4 on stream 1
    expect(byId.get(1)).toBe(bytes('00 00 00 09 00 00 00 01 02 00 0a 00 12 05 08 64 10 c8 01').toString('hex'));
    expect(byId.get(3)).toBe(
      bytes('00 00 00 0f 00 00 00 03 02 00 0a 0d 08 05 12 09 6e 6f 74 20 66 6f 75 6e 64').toString('hex'),
    );
  });

  it('check 5: stream-id rules and unknown service/method', async () => {
    h = await startServer((s) => s.register(TASK, { Connect: () => new Uint8Array(0) }));
    const p = await peer();
    await p.write(req(2, TASK, 'Connect'));
    await p.write(req(3, TASK, 'Connect'));
    await p.write(req(1, TASK, 'Connect'));
    await p.write(req(5, 'foo', 'Connect'));
    await p.write(req(7, TASK, 'Nope'));
    await p.write(req(7, TASK, 'Connect'));
    const frames = await p.waitFrames(6);
    // responses may arrive out of order (handlers run asynchronously); compare in a fixed order
    const st = frames
      .map((f) => ({ id: f.streamId, ...decodeResponse(f.payload).status }))
      .sort((a, b) => a.id - b.id || a.code - b.code);
    expect(st).toEqual([
      { id: 1, code: 3, message: 'StreamID cannot be re-used and must increment', details: [] },
      { id: 2, code: 3, message: 'StreamID must be odd for client initiated streams', details: [] },
      { id: 3, code: 0, message: '', details: [] },
      { id: 5, code: 12, message: 'service foo', details: [] },
      { id: 7, code: 3, message: 'StreamID cannot be re-used and must increment', details: [] },
      { id: 7, code: 12, message: 'method Nope', details: [] },
    ]);
    expect(frames.every((f) => f.type === MessageType.Response && f.flags === 0)).toBe(true);
  });

  it('check 6: a 4194305-byte frame gets ResourceExhausted and the connection stays usable', async () => {
    h = await startServer((s) => s.register(TASK, { Connect: () => bytes('08 01') }));
    const p = await peer();
    const header = Buffer.alloc(10);
    header.writeUInt32BE(MAX_MESSAGE_LENGTH + 1, 0);
    header.writeUInt32BE(1, 4);
    header.writeUInt8(MessageType.Request, 8);
    await p.write(header);
    await p.write(Buffer.alloc(MAX_MESSAGE_LENGTH + 1, 0x41));
    await p.write(req(3, TASK, 'Connect'));
    const [a, b] = await p.waitFrames(2);
    expect(a!.streamId).toBe(1);
    expect(decodeResponse(a!.payload).status).toEqual({
      code: 8,
      message: 'message length 4194305 exceed maximum message size of 4194304',
      details: [],
    });
    expect(b!.streamId).toBe(3);
    expect(Buffer.from(decodeResponse(b!.payload).payload).toString('hex')).toBe('0801');
    expect(p.closed).toBe(false);
  });

  it('fault: a 5 MiB frame, garbage and truncated requests are answered and the server keeps serving', async () => {
    h = await startServer((s) => s.register(TASK, { Connect: () => bytes('08 02') }));
    const p = await peer();
    const five = 5 * 1024 * 1024;
    const header = Buffer.alloc(10);
    header.writeUInt32BE(five, 0);
    header.writeUInt32BE(1, 4);
    header.writeUInt8(MessageType.Request, 8);
    await p.write(Buffer.concat([header, Buffer.alloc(five, 0xff)]));
    // garbage payload that is not a Request
    await p.write(encodeFrame(3, MessageType.Request, 0, Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff])));
    // truncated string inside a well-framed Request
    await p.write(encodeFrame(5, MessageType.Request, 0, bytes('0a 40 "short"')));
    // Data frame on a stream that was never opened
    await p.write(encodeFrame(9, MessageType.Data, 0, Buffer.alloc(0)));
    await p.write(req(11, TASK, 'Connect'));
    const frames = await p.waitFrames(5);
    const st = frames.map((f) => ({ id: f.streamId, ...decodeResponse(f.payload).status }));
    expect(st[0]).toMatchObject({
      id: 1,
      code: 8,
      message: `message length ${five} exceed maximum message size of 4194304`,
    });
    expect(st[1]).toMatchObject({ id: 3, code: 3 });
    expect(st[1]!.message).toMatch(/^unmarshal request error: /);
    expect(st[2]).toMatchObject({ id: 5, code: 3 });
    expect(st[2]!.message).toMatch(/^unmarshal request error: truncated field/);
    expect(st[3]).toMatchObject({ id: 9, code: 3, message: 'StreamID is no longer active' });
    expect(st[4]).toMatchObject({ id: 11, code: 0 });
    // a second connection is served too
    const c = await TtrpcClient.connect(h.socketPath);
    expect(Buffer.from(await c.call(TASK, 'Connect', new Uint8Array())).toString('hex')).toBe('0802');
    c.close();
  });

  it('check 7: metadata and timeout_nano reach the handler as namespace and deadline', async () => {
    let seen: CallContext | undefined;
    h = await startServer((s) =>
      s.register(TASK, {
        State: (_r, ctx) => {
          seen = ctx;
          return new Uint8Array(0);
        },
      }),
    );
    const payload = encodeRequest({
      service: TASK,
      method: 'State',
      timeoutNano: 10_000_000_000,
      metadata: [{ key: 'containerd-namespace-ttrpc', value: 'k8s.io' }],
    });
    // metadata is field 5: 2a 24 0a 1a "containerd-namespace-ttrpc" 12 06 "k8s.io"
    expect(Buffer.from(payload).toString('hex')).toContain(
      bytes('2a 24 0a 1a "containerd-namespace-ttrpc" 12 06 "k8s.io"').toString('hex'),
    );
    expect(Buffer.from(payload).toString('hex')).toContain('2080c8afa025'); // timeout_nano = 10e9 varint
    const p = await peer();
    const before = Date.now();
    await p.write(encodeFrame(1, MessageType.Request, 0, payload));
    await p.waitFrames(1);
    expect(seen!.namespace).toBe('k8s.io');
    expect(seen!.metadata.getAll('Containerd-Namespace-TTRPC')).toEqual(['k8s.io']);
    expect(seen!.deadline! - before).toBeGreaterThan(9_000);
    expect(seen!.deadline! - before).toBeLessThanOrEqual(10_100);
  });

  it('lower-cases metadata keys into a multimap', async () => {
    let seen: CallContext | undefined;
    h = await startServer((s) => s.register('svc', { M: (_r, ctx) => ((seen = ctx), new Uint8Array(0)) }));
    const c = await TtrpcClient.connect(h.socketPath);
    await c.call('svc', 'M', new Uint8Array(), {
      metadata: [
        ['X-Trace', 'a'],
        ['x-trace', 'b'],
        ['Other', 'c'],
      ],
    });
    expect(seen!.metadata.getAll('x-trace')).toEqual(['a', 'b']);
    expect(seen!.metadata.keys().sort()).toEqual(['other', 'x-trace']);
    expect(seen!.namespace).toBeUndefined();
    c.close();
  });

  it('maps handler errors: numeric code kept, anything else Unknown', async () => {
    h = await startServer((s) =>
      s.register('svc', {
        Coded: () => {
          throw Object.assign(new Error('already there'), { code: 6 });
        },
        Plain: () => {
          throw new Error('boom');
        },
        SysErr: () => {
          throw Object.assign(new Error('ENOENT: no such file'), { code: 'ENOENT' });
        },
      }),
    );
    const c = await TtrpcClient.connect(h.socketPath);
    await expect(c.call('svc', 'Coded', new Uint8Array())).rejects.toMatchObject({ code: 6, message: 'already there' });
    await expect(c.call('svc', 'Plain', new Uint8Array())).rejects.toMatchObject({ code: 2, message: 'boom' });
    await expect(c.call('svc', 'SysErr', new Uint8Array())).rejects.toMatchObject({ code: 2 });
    const e = await c.call('svc', 'Plain', new Uint8Array()).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(TtrpcError);
    c.close();
  });

  it('the server deadline aborts the handler signal and answers DeadlineExceeded', async () => {
    let aborted = false;
    h = await startServer((s) =>
      s.register('svc', {
        Slow: (_r, ctx) =>
          new Promise<Uint8Array>((resolve) => {
            ctx.signal.addEventListener('abort', () => {
              aborted = true;
              setTimeout(() => resolve(new Uint8Array([1])), 10);
            });
          }),
      }),
    );
    const p = await peer();
    await p.write(req(1, 'svc', 'Slow', undefined, { timeoutNano: 50_000_000 }));
    const [f] = await p.waitFrames(1);
    expect(decodeResponse(f!.payload).status).toMatchObject({ code: 4, message: 'context deadline exceeded' });
    expect(aborted).toBe(true);
    await new Promise((r) => setTimeout(r, 50));
    expect(p.frames).toHaveLength(1); // the late result is not sent
  });

  it('graceful close waits for in-flight calls, then refuses new connections', async () => {
    let release!: () => void;
    h = await startServer((s) =>
      s.register('svc', {
        Wait: () => new Promise<Uint8Array>((r) => (release = () => r(bytes('08 07')))),
      }),
    );
    const c = await TtrpcClient.connect(h.socketPath);
    const pending = c.call('svc', 'Wait', new Uint8Array());
    await new Promise((r) => setTimeout(r, 20));
    const closing = h.server.close({ timeoutMs: 2000 });
    setTimeout(() => release(), 30);
    expect(Buffer.from(await pending).toString('hex')).toBe('0807');
    await closing;
    await c.waitClosed();
    expect(existsSync(h.socketPath)).toBe(false);
    await expect(TtrpcClient.connect(h.socketPath, { connectTimeoutMs: 500 })).rejects.toMatchObject({ code: 14 });
  });
});
