import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { mkdtempSync, rmSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { TtrpcClient, TtrpcServer, dial, dialHybridVsock, parseAddress } from '../../../src/ttrpc/index.js';

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

/** A fake hybrid-vsock backend: replies per `reply(attempt)` and then hands the socket to a ttrpc server. */
async function fakeBackend(reply: (attempt: number) => string | null, server?: TtrpcServer) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ccgpu-hvsock-'));
  const p = path.join(dir, 'kata.hvsock');
  const received: string[] = [];
  let attempts = 0;
  const socks: net.Socket[] = [];
  const srv = net.createServer((sock) => {
    socks.push(sock);
    const attempt = ++attempts;
    let buf = '';
    const onData = (d: Buffer): void => {
      buf += d.toString('latin1');
      const nl = buf.indexOf('\n');
      if (nl < 0) return;
      sock.off('data', onData);
      received.push(buf.slice(0, nl + 1));
      const r = reply(attempt);
      if (r === null) return; // never answer
      sock.write(r);
      if (!r.includes('OK') || r.startsWith('NOK')) {
        sock.end();
        return;
      }
      if (server) server.serve(sock);
    };
    sock.on('data', onData);
    sock.on('error', () => undefined);
  });
  await new Promise<void>((r) => srv.listen(p, r));
  cleanups.push(() => {
    for (const s of socks) s.destroy();
    srv.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return { path: p, received, attempts: () => attempts };
}

describe('hybrid vsock (reference check 19)', () => {
  it('writes exactly "CONNECT 1024\\n", accepts "OK 1073741823\\n" and carries ttrpc afterwards', async () => {
    const server = new TtrpcServer().register('grpc.Health', { Check: () => Uint8Array.from([0x08, 0x01]) });
    const b = await fakeBackend(() => 'OK 1073741823\n', server);
    const sock = await dialHybridVsock(b.path, 1024, { dialTimeoutMs: 2000 });
    expect(b.received).toEqual(['CONNECT 1024\n']);
    const c = new TtrpcClient(sock);
    cleanups.push(() => c.close());
    expect(Array.from(await c.call('grpc.Health', 'Check', new Uint8Array()))).toEqual([0x08, 0x01]);
  });

  it('closes on "NOK\\n" and retries until it gets OK', async () => {
    const b = await fakeBackend((n) => (n < 3 ? 'NOK\n' : 'OK 5\n'));
    const sock = await dialHybridVsock(b.path, 1024, { dialTimeoutMs: 3000, retryDelayMs: 10 });
    cleanups.push(() => sock.destroy());
    expect(b.attempts()).toBe(3);
    expect(b.received).toEqual(['CONNECT 1024\n', 'CONNECT 1024\n', 'CONNECT 1024\n']);
  });

  it('no reply within the handshake timeout is a handshake timeout', async () => {
    const b = await fakeBackend(() => null);
    const t0 = Date.now();
    const err = await dialHybridVsock(b.path, 1024, {
      handshakeTimeoutMs: 150,
      dialTimeoutMs: 200,
      retryDelayMs: 10,
    }).catch((e: unknown) => e as Error);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toMatch(/timed out after \d+ms/);
    expect((err as Error).message).toContain(b.path);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(140);
  });

  it('a missing backend socket fails after the dial timeout naming the path', async () => {
    await expect(
      dialHybridVsock('/nonexistent/x.hvsock', 1024, { dialTimeoutMs: 100, retryDelayMs: 20 }),
    ).rejects.toThrow(/dialing hybrid vsock \/nonexistent\/x.hvsock port 1024 failed after \d+ attempt/);
  });

  it('dial() understands hvsock:// addresses; parseAddress validates all forms', async () => {
    const b = await fakeBackend(() => 'OK 1\n');
    const s = await dial(`hvsock://${b.path}:1024`, { dialTimeoutMs: 1000 });
    cleanups.push(() => s.destroy());
    expect(b.received).toEqual(['CONNECT 1024\n']);
    expect(parseAddress('unix:///run/x.sock')).toEqual({ kind: 'unix', path: '/run/x.sock' });
    expect(parseAddress('vsock://3:1024')).toEqual({ kind: 'vsock', cid: 3, port: 1024 });
    expect(parseAddress('vsock://-1:1024')).toEqual({ kind: 'vsock', cid: 0xffffffff, port: 1024 });
    expect(parseAddress('hvsock:///a/b:c.sock:1024')).toEqual({ kind: 'hvsock', path: '/a/b:c.sock', port: 1024 });
    expect(() => parseAddress('vsock://x:1')).toThrow(/invalid cid "x"/);
    expect(() => parseAddress('hvsock:///a')).toThrow(/hvsock:\/\/<path>:<port>/);
    expect(() => parseAddress('tcp://1.2.3.4:5')).toThrow(/unsupported address/);
  });
});
