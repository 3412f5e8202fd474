import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { mkdtempSync, rmSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import {
  FrameParser,
  MessageType,
  TtrpcClient,
  TtrpcServer,
  encodeFrame,
  encodeResponse,
  type Frame,
} from '../../../src/ttrpc/index.js';
import {
  AgentClient,
  EventsClient,
  HealthServingStatus,
  TaskClient,
  TaskStatus,
  encodeForward,
  messageCodec,
  registerAgentService,
  registerHealthService,
  registerTaskService,
  timestampFromDate,
  unpackAny,
  type Envelope,
  type ForwardRequest,
  type TaskExit,
} from '../../../src/protocols/index.js';
import { NotFoundError, AlreadyExistsError } from '../../../src/errors/index.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function serve(setup: (s: TtrpcServer) => void): Promise<string> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ccgpu-proto-'));
  const sock = path.join(dir, 's.sock');
  const server = new TtrpcServer();
  setup(server);
  await server.listen(sock);
  cleanups.push(async () => {
    await server.close({ timeoutMs: 200 });
    rmSync(dir, { recursive: true, force: true });
  });
  return sock;
}

async function client(sock: string): Promise<TtrpcClient> {
  const c = await TtrpcClient.connect(sock);
  cleanups.push(() => c.close());
  return c;
}

describe('typed Task service', () => {
  it('serves containerd.task.v2.Task and v3.Task with the same handlers and typed errors', async () => {
    const tasks = new Map<string, number>();
    const sock = await serve((s) =>
      registerTaskService(s, {
        Create: (req, ctx) => {
          if (tasks.has(req.id)) throw new AlreadyExistsError(`task ${req.id} already exists`);
          expect(ctx.namespace).toBe('k8s.io');
          expect(req.rootfs).toEqual([{ type: 'overlay', source: 'overlay', target: '', options: ['lowerdir=/a'] }]);
          tasks.set(req.id, 4242);
          return { pid: 4242 };
        },
        State: (req) => {
          const pid = tasks.get(req.id);
          if (pid === undefined) throw new NotFoundError(`task ${req.id} not found`);
          return { id: req.id, pid, status: TaskStatus.RUNNING };
        },
        Connect: () => ({ shimPid: 100, taskPid: 200 }),
      }),
    );
    const c = await client(sock);
    const v2 = new TaskClient(c, { defaults: { metadata: { 'containerd-namespace-ttrpc': 'k8s.io' } } });
    const v3 = new TaskClient(c, { version: 3, defaults: { metadata: { 'containerd-namespace-ttrpc': 'k8s.io' } } });
    expect(
      await v2.call('Create', {
        id: 'abc',
        bundle: '/b',
        rootfs: [{ type: 'overlay', source: 'overlay', options: ['lowerdir=/a'] }],
      }),
    ).toEqual({ pid: 4242 });
    await expect(
      v3.call('Create', { id: 'abc', rootfs: [{ type: 'overlay', source: 'overlay', options: ['lowerdir=/a'] }] }),
    ).rejects.toMatchObject({
      code: 6,
      message: 'task abc already exists',
    });
    expect(await v3.call('State', { id: 'abc' })).toMatchObject({
      id: 'abc',
      pid: 4242,
      status: 2,
      exitStatus: 0,
      execId: '',
    });
    await expect(v2.call('State', { id: 'zzz' })).rejects.toMatchObject({ code: 5, message: 'task zzz not found' });
    expect(await v2.call('Connect', { id: 'abc' })).toEqual({ shimPid: 100, taskPid: 200, version: '' });
    await expect(v2.call('Pids', { id: 'abc' })).rejects.toMatchObject({ code: 12, message: 'method Pids' });
    // a payload that is not a CreateTaskRequest → InvalidArgument unmarshal error
    await expect(c.call('containerd.task.v2.Task', 'Create', Buffer.from([0x0a, 0x50, 0x41]))).rejects.toMatchObject({
      code: 3,
    });
    await expect(c.call('containerd.task.v2.Task', 'Create', Buffer.from([0x0a, 0x50, 0x41]))).rejects.toThrow(
      /^unmarshal request error: /,
    );
  });

  it('refuses handlers for methods the service does not have', () => {
    expect(() => registerTaskService(new TtrpcServer(), { Bogus: () => ({}) } as never)).toThrow(
      'containerd.task.v2.Task has no method "Bogus"',
    );
  });

  it('check 1 through the typed client: the Connect request frame is byte-exact', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'ccgpu-proto-raw-'));
    const p = path.join(dir, 's.sock');
    const frames: Frame[] = [];
    const srv = net.createServer((sock) => {
      const parser = new FrameParser({
        frame: (f) => {
          frames.push(f);
          sock.write(
            encodeFrame(
              f.streamId,
              MessageType.Response,
              0,
              encodeResponse({ payload: Buffer.from('086410c801', 'hex') }),
            ),
          );
        },
        oversized: () => undefined,
      });
      sock.on('data', (d: Buffer) => parser.push(d));
    });
    await new Promise<void>((r) => srv.listen(p, r));
    cleanups.push(() => {
      srv.close();
      rmSync(dir, { recursive: true, force: true });
    });
    const c = await client(p);
    expect(await new TaskClient(c).call('Connect', { id: 'abc' })).toEqual({ shimPid: 100, taskPid: 200, version: '' });
    const f = frames[0]!;
    const wire = Buffer.concat([encodeFrame(f.streamId, f.type, f.flags, f.payload)]);
    const expected = Buffer.concat([
      Buffer.from('00000029000000010100', 'hex'),
      Buffer.from('0a17', 'hex'),
      Buffer.from('containerd.task.v2.Task'),
      Buffer.from('1207', 'hex'),
      Buffer.from('Connect'),
      Buffer.from('1a050a03616263', 'hex'),
    ]);
    expect(wire.toString('hex')).toBe(expected.toString('hex'));
  });
});

describe('events forwarding (reference check 11)', () => {
  it('publishes create, start, exit in order to a fake $TTRPC_ADDRESS with namespace, timestamp and golden exit Any', async () => {
    const got: Envelope[] = [];
    const sock = await serve((s) =>
      s.register('containerd.services.events.ttrpc.v1.Events', {
        Forward: (payload) => {
          got.push(
            messageCodec<ForwardRequest>('containerd.services.events.ttrpc.v1.ForwardRequest').decode(payload)
              .envelope!,
          );
          return new Uint8Array(0);
        },
      }),
    );
    const ev = new EventsClient(sock);
    cleanups.push(() => ev.close());
    await ev.publish('/tasks/create', 'k8s.io', {
      containerId: 'c1',
      bundle: '/run/b',
      pid: 1234,
      io: { stdin: '', stdout: '/o', stderr: '/e', terminal: false },
    });
    await ev.publish('/tasks/start', 'k8s.io', { containerId: 'c1', pid: 1234 });
    await ev.forward('/tasks/exit', 'k8s.io', 'containerd.events.TaskExit', {
      containerId: 'c1',
      id: 'c1',
      pid: 1234,
      exitStatus: 137,
      exitedAt: timestampFromDate(new Date(1_700_000_000_000)),
    } satisfies TaskExit);
    expect(got.map((e) => e.topic)).toEqual(['/tasks/create', '/tasks/start', '/tasks/exit']);
    for (const e of got) {
      expect(e.namespace).toBe('k8s.io');
      expect(e.timestamp!.seconds).toBeGreaterThan(1_700_000_000);
    }
    const exit = got[2]!.event!;
    expect(exit.typeUrl).toBe('containerd.events.TaskExit');
    expect(Buffer.from(exit.value).toString('hex')).toBe('0a0263311202633118d2092089012a060880e2cfaa06');
    expect(got[0]!.event!.typeUrl).toBe('containerd.events.TaskCreate');
    expect(unpackAny<TaskExit>(exit, 'containerd.events.TaskExit').exitStatus).toBe(137);
  });

  it('refuses envelopes containerd would reject', () => {
    expect(() => encodeForward('/tasks/exit', 'bad ns', 'containerd.events.TaskExit', {})).toThrow(
      /namespace "bad ns" is not a valid/,
    );
    expect(() => encodeForward('tasks/exit', 'k8s.io', 'containerd.events.TaskExit', {})).toThrow(
      /topic "tasks\/exit"/,
    );
    expect(() => encodeForward('/tasks/exit', 'k8s.io', 'containerd.events.TaskExit', {}, new Date(0))).toThrow(
      /timestamp must be set/,
    );
  });

  it('retries when containerd is not there yet and fails with Unavailable after the attempts', async () => {
    const ev = new EventsClient('/nonexistent/containerd.sock.ttrpc', { attempts: 2, retryDelayMs: 5, timeoutMs: 200 });
    await expect(ev.publish('/tasks/oom', 'k8s.io', { containerId: 'c1' })).rejects.toMatchObject({ code: 14 });
  });
});

describe('agent API', () => {
  it('check 21 via AgentClient: health Check is SERVING; typed agent calls round-trip', async () => {
    let policy = '';
    const sock = await serve((s) => {
      registerHealthService(s, {
        Check: () => ({ status: HealthServingStatus.SERVING }),
        Version: () => ({ grpcVersion: '0.0.1', agentVersion: '3.99.0-ccgpu' }),
      });
      registerAgentService(s, {
        CreateSandbox: (req) => {
          expect(req.sandboxId).toBe('sb1');
          expect(req.storages[0]!.driverOptions).toEqual(['image_guest_pull={}']);
          return {};
        },
        SetPolicy: (req) => ((policy = req.policy), {}),
        WaitProcess: () => ({ status: 137 }),
        ReadStdout: (req) => ({ data: Buffer.alloc(req.len, 0x61) }),
        GetGuestDetails: () => ({ memBlockSizeBytes: 134217728, agentDetails: { version: '3.99', initDaemon: true } }),
      });
    });
    const agent = new AgentClient(await client(sock));
    expect(await agent.check()).toBe(HealthServingStatus.SERVING);
    expect(await agent.version()).toEqual({ grpcVersion: '0.0.1', agentVersion: '3.99.0-ccgpu' });
    expect(
      await agent.createSandbox({
        sandboxId: 'sb1',
        hostname: 'h',
        storages: [{ driver: 'image_guest_pull', driverOptions: ['image_guest_pull={}'] }],
      }),
    ).toEqual({});
    await agent.setPolicy({ policy: 'package agent_policy\ndefault CreateContainerRequest := true\n' });
    expect(policy).toContain('package agent_policy');
    expect(await agent.waitProcess({ containerId: 'c', execId: 'c' })).toEqual({ status: 137 });
    expect(Buffer.from((await agent.readStdout({ containerId: 'c', len: 3 })).data).toString()).toBe('aaa');
    const gd = await agent.getGuestDetails({ memBlockSize: true });
    expect(gd.memBlockSizeBytes).toBe(134217728);
    expect(gd.agentDetails).toMatchObject({ version: '3.99', initDaemon: true, deviceHandlers: [] });
    await expect(agent.pauseContainer({ containerId: 'c' })).rejects.toMatchObject({
      code: 12,
      message: 'method PauseContainer',
    });
    expect(typeof agent.addSwapPath).toBe('function');
    expect(typeof agent.memAgentCompactSet).toBe('function');
  });
});
