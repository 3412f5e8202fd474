import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { QmpClient, QmpError } from '../../../src/hypervisor/qemu/qmp.js';

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const c of cleanups.splice(0).reverse()) c();
});

function tmp(): string {
  const d = mkdtempSync(path.join(os.tmpdir(), 'ccgpu-qmp-'));
  cleanups.push(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

const GREETING = {
  QMP: { version: { qemu: { micro: 0, minor: 2, major: 9 }, package: 'Debian 1:9.2.0' }, capabilities: ['oob'] },
};

/** A scripted fake QMP server; `handle` returns the JSON reply (or null for none) for each command. */
async function fakeQmp(
  handle: (cmd: { execute: string; arguments?: Record<string, unknown>; id?: unknown }, sock: net.Socket) => unknown,
) {
  const p = path.join(tmp(), 'qmp.sock');
  const seen: Array<Record<string, unknown>> = [];
  const socks: net.Socket[] = [];
  const srv = net.createServer((sock) => {
    socks.push(sock);
    sock.write(JSON.stringify(GREETING) + '\r\n');
    let buf = '';
    sock.on('data', (d) => {
      buf += d.toString();
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const cmd = JSON.parse(buf.slice(0, nl));
        buf = buf.slice(nl + 1);
        seen.push(cmd);
        const reply = handle(cmd, sock);
        if (reply !== null && reply !== undefined) sock.write(JSON.stringify(reply) + '\r\n');
      }
    });
    sock.on('error', () => undefined);
  });
  await new Promise<void>((r) => srv.listen(p, r));
  cleanups.push(() => {
    for (const s of socks) s.destroy();
    srv.close();
  });
  return { path: p, seen, socks };
}

describe('QMP client against a fake server', () => {
  it('reads the greeting, negotiates capabilities, matches answers by id and surfaces errors', async () => {
    const srv = await fakeQmp((cmd, sock) => {
      switch (cmd.execute) {
        case 'qmp_capabilities':
          return { return: {}, id: cmd.id };
        case 'query-status':
          // an event arrives before the answer
          sock.write(JSON.stringify({ event: 'RESUME', timestamp: { seconds: 1, microseconds: 2 } }) + '\r\n');
          return { return: { status: 'running', running: true }, id: cmd.id };
        case 'device_add':
          return { error: { class: 'GenericError', desc: "Duplicate device ID 'gpu0'" }, id: cmd.id };
        default:
          return {
            error: { class: 'CommandNotFound', desc: `The command ${cmd.execute} has not been found` },
            id: cmd.id,
          };
      }
    });
    const q = await QmpClient.connect(srv.path);
    cleanups.push(() => q.close());
    expect(q.greeting.QMP.version.qemu.major).toBe(9);
    expect(srv.seen[0]).toEqual({ execute: 'qmp_capabilities', id: 1 });
    const events: string[] = [];
    q.on('event', (e: { event: string }) => events.push(e.event));
    expect(await q.execute('query-status')).toEqual({ status: 'running', running: true });
    expect(events).toEqual(['RESUME']);
    const err = await q
      .execute('device_add', { driver: 'vfio-pci', id: 'gpu0', host: '0000:41:00.0' })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(QmpError);
    expect(err).toMatchObject({
      errorClass: 'GenericError',
      desc: "Duplicate device ID 'gpu0'",
      command: 'device_add',
    });
    expect((err as Error).message).toBe(`QMP command "device_add" failed: GenericError: Duplicate device ID 'gpu0'`);
    expect(srv.seen[2]).toEqual({
      execute: 'device_add',
      arguments: { driver: 'vfio-pci', id: 'gpu0', host: '0000:41:00.0' },
      id: 3,
    });
    await expect(q.execute('nope')).rejects.toMatchObject({ errorClass: 'CommandNotFound' });
  });

  it('matches out-of-order answers by id and delivers named events', async () => {
    const held: Array<{ id: unknown }> = [];
    const srv = await fakeQmp((cmd, sock) => {
      if (cmd.execute === 'qmp_capabilities') return { return: {}, id: cmd.id };
      held.push({ id: cmd.id });
      if (held.length === 2) {
        sock.write(JSON.stringify({ return: 'second', id: held[1]!.id }) + '\r\n');
        sock.write(JSON.stringify({ return: 'first', id: held[0]!.id }) + '\r\n');
        sock.write(
          JSON.stringify({ event: 'DEVICE_DELETED', data: { device: 'gpu0', path: '/machine/peripheral/gpu0' } }) +
            '\r\n',
        );
      }
      return null;
    });
    const q = await QmpClient.connect(srv.path);
    cleanups.push(() => q.close());
    const deleted = q.waitForEvent('DEVICE_DELETED', { timeoutMs: 2000, filter: (e) => e.data?.device === 'gpu0' });
    const [a, b] = await Promise.all([q.execute('a'), q.execute('b')]);
    expect([a, b]).toEqual(['first', 'second']);
    expect((await deleted).data).toEqual({ device: 'gpu0', path: '/machine/peripheral/gpu0' });
  });

  it('connection loss rejects pending commands; timeouts are bounded', async () => {
    const srv = await fakeQmp((cmd) => (cmd.execute === 'qmp_capabilities' ? { return: {}, id: cmd.id } : null));
    const q = await QmpClient.connect(srv.path);
    await expect(q.execute('slow', undefined, { timeoutMs: 50 })).rejects.toThrow('QMP command "slow" timed out');
    const pending = q.execute('query-status');
    const shutdown = q.waitForEvent('SHUTDOWN');
    await new Promise((r) => setTimeout(r, 20));
    for (const s of srv.socks) s.destroy();
    await expect(pending).rejects.toThrow(/QMP command "query-status" failed: QMP connection closed/);
    await expect(shutdown).rejects.toThrow('QMP connection closed');
    await expect(q.execute('x')).rejects.toThrow('QMP connection closed');
  });

  it('handshake fails clearly: no socket, no greeting', async () => {
    await expect(QmpClient.connect('/nonexistent/qmp.sock')).rejects.toThrow(
      /cannot connect to QMP socket \/nonexistent\/qmp.sock/,
    );
    const p = path.join(tmp(), 'silent.sock');
    const socks: net.Socket[] = [];
    const srv = net.createServer((s) => socks.push(s));
    await new Promise<void>((r) => srv.listen(p, r));
    cleanups.push(() => {
      for (const s of socks) s.destroy();
      srv.close();
    });
    await expect(QmpClient.connect(p, { timeoutMs: 100 })).rejects.toThrow(
      /QMP handshake with .*silent.sock timed out/,
    );
  });
});

const QEMU = 'qemu-system-x86_64';
const haveQemu = spawnSync('sh', ['-c', `command -v ${QEMU}`]).status === 0;
if (!haveQemu) console.warn(`skipping real-QEMU QMP test: ${QEMU} is not installed`);

describe('QMP client against real QEMU', () => {
  it.skipIf(!haveQemu)(
    'query-version, qom-list/qom-get on /machine, quit → SHUTDOWN and close (needs qemu-system-x86_64)',
    async () => {
      const sockPath = path.join(tmp(), 'qmp.sock');
      const child: ChildProcess = spawn(
        QEMU,
        [
          '-machine',
          'none',
          '-qmp',
          `unix:${sockPath},server=on,wait=off`,
          '-nographic',
          '-nodefaults',
          '-display',
          'none',
        ],
        { stdio: ['ignore', 'ignore', 'pipe'] },
      );
      let stderr = '';
      child.stderr!.on('data', (d) => (stderr += d.toString()));
      const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
      cleanups.push(() => {
        if (child.exitCode === null) child.kill('SIGKILL');
      });
      const until = Date.now() + 10_000;
      while (!existsSync(sockPath)) {
        if (Date.now() > until || child.exitCode !== null)
          throw new Error(`QEMU did not create ${sockPath}: ${stderr}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      const q = await QmpClient.connect(sockPath);
      const v = await q.execute<{ qemu: { major: number }; package: string }>('query-version');
      expect(v.qemu.major).toBeGreaterThanOrEqual(5);
      expect(v.qemu.major).toBe(q.greeting.QMP.version.qemu.major);
      const props = await q.execute<Array<{ name: string; type: string }>>('qom-list', { path: '/machine' });
      expect(props.map((p) => p.name)).toContain('type');
      const type = await q.execute<string>('qom-get', { path: '/machine', property: 'type' });
      expect(type).toBe('none-machine');
      await expect(q.execute('qom-get', { path: '/machine', property: 'no-such-prop' })).rejects.toBeInstanceOf(
        QmpError,
      );
      const shutdown = q.waitForEvent('SHUTDOWN', { timeoutMs: 10_000 });
      expect(await q.execute('quit')).toEqual({});
      expect((await shutdown).event).toBe('SHUTDOWN');
      expect(await exited).toBe(0);
      await new Promise((r) => setTimeout(r, 50));
      expect(q.closed).toBe(true);
    },
  );
});
