import { describe, expect, it } from 'vitest';
import {
  AGENT_METHOD_NAMES,
  AGENT_SERVICE,
  HealthServingStatus,
  PROTO_FILES,
  TaskStatus,
  lookupMessage,
  messageCodec,
  packAny,
  serviceMethods,
  timestampFromDate,
  timestampToDate,
  unpackAny,
  type ConnectResponse,
  type DeleteResponse,
  type StateResponse,
  type TaskExit,
} from '../../../src/protocols/index.js';

const h = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const x = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

describe('protocol codecs: golden bytes', () => {
  it('loads every shipped .proto file', () => {
    expect(PROTO_FILES.length).toBeGreaterThanOrEqual(14);
    expect(lookupMessage('ttrpc.Request').fieldsArray.map((f) => [f.name, f.id])).toEqual([
      ['service', 1],
      ['method', 2],
      ['payload', 3],
      ['timeoutNano', 4],
      ['metadata', 5],
    ]);
    expect(() => lookupMessage('nope.Nothing')).toThrow('unknown protobuf message type "nope.Nothing"');
  });

  it('check 1 payload: ConnectRequest{id:"abc"} is 0a 03 61 62 63', () => {
    expect(h(messageCodec('containerd.task.v2.ConnectRequest').encode({ id: 'abc' }))).toBe('0a03616263');
  });

  it('check 4: ConnectResponse{shim_pid:100, task_pid:200} is 08 64 10 c8 01 and decodes with defaults', () => {
    const c = messageCodec<ConnectResponse>('containerd.task.v2.ConnectResponse');
    expect(h(c.encode({ shimPid: 100, taskPid: 200, version: '' }))).toBe('086410c801');
    expect(c.decode(x('086410c801'))).toEqual({ shimPid: 100, taskPid: 200, version: '' });
  });

  it('check 10: DeleteResponse{pid 0, exit 137, exited_at 1700000000} is 10 89 01 1a 06 08 80 e2 cf aa 06', () => {
    const c = messageCodec<DeleteResponse>('containerd.task.v2.DeleteResponse');
    const bytes = c.encode({ pid: 0, exitStatus: 137, exitedAt: timestampFromDate(new Date(1_700_000_000_000)) });
    expect(h(bytes)).toBe('108901' + '1a060880e2cfaa06');
    expect(c.decode(bytes)).toEqual({ pid: 0, exitStatus: 137, exitedAt: { seconds: 1700000000, nanos: 0 } });
    expect(timestampToDate(c.decode(bytes).exitedAt)!.toISOString()).toBe('2023-11-14T22:13:20.000Z');
  });

  it('check 11: TaskExit Any value bytes and type_url', () => {
    const ev: TaskExit = {
      containerId: 'c1',
      id: 'c1',
      pid: 1234,
      exitStatus: 137,
      exitedAt: { seconds: 1700000000, nanos: 0 },
    };
    const any = packAny('containerd.events.TaskExit', ev);
    expect(any.typeUrl).toBe('containerd.events.TaskExit');
    expect(h(any.value)).toBe('0a02633112026331' + '18d209' + '208901' + '2a060880e2cfaa06');
    expect(unpackAny<TaskExit>(any, 'containerd.events.TaskExit')).toEqual(ev);
    expect(() => unpackAny(any, 'containerd.events.TaskStart')).toThrow('Any holds "containerd.events.TaskExit"');
  });

  it('check 21: health reply payload 08 01 decodes as SERVING', () => {
    const c = messageCodec<{ status: number }>('grpc.HealthCheckResponse');
    expect(c.decode(x('0801')).status).toBe(HealthServingStatus.SERVING);
    expect(h(c.encode({ status: HealthServingStatus.SERVING }))).toBe('0801');
    expect(h(messageCodec('grpc.CheckRequest').encode({ service: '' }))).toBe('');
  });

  it('omits proto3 defaults like Go, keeps present empty messages and explicit-presence fields', () => {
    const st = messageCodec<StateResponse>('containerd.task.v2.StateResponse');
    expect(h(st.encode({ id: '', pid: 0, status: TaskStatus.UNKNOWN, terminal: false } as StateResponse))).toBe('');
    expect(h(st.encode({ status: TaskStatus.RUNNING, exitedAt: { seconds: 0, nanos: 0 } } as StateResponse))).toBe(
      '2002' + '5200',
    );
    const memcg = messageCodec<Record<string, unknown>>('grpc.MemAgentMemcgConfig');
    expect(h(memcg.encode({ disabled: false, swappinessMax: 0 }))).toBe('0800' + '1800');
    expect(memcg.decode(x('08001800'))).toEqual({ disabled: false, swappinessMax: 0 });
    expect(memcg.decode(new Uint8Array())).toEqual({});
  });

  it('int64/uint64 come back as numbers, enums as numbers, bytes as Buffers, maps as objects', () => {
    const cp = messageCodec<Record<string, unknown>>('grpc.CopyFileRequest');
    const v = {
      path: '/run/x',
      fileSize: 5_000_000_000,
      fileMode: 0o644,
      dirMode: 0o755,
      uid: -1,
      gid: 0,
      offset: 4096,
      data: Buffer.from('hi'),
    };
    const back = cp.decode(cp.encode(v));
    expect(back).toEqual({ ...v, gid: 0 });
    expect(typeof back.fileSize).toBe('number');
    expect(Buffer.isBuffer(back.data)).toBe(true);
    const up = messageCodec<Record<string, unknown>>('containerd.task.v2.UpdateTaskRequest');
    expect(up.decode(up.encode({ id: 'a', annotations: { k: 'v', z: '' } }))).toEqual({
      id: 'a',
      annotations: { k: 'v', z: '' },
    });
  });

  it('round-trips a nested OCI spec inside CreateContainerRequest', () => {
    const c = messageCodec<Record<string, unknown>>('grpc.CreateContainerRequest');
    const req = {
      containerId: 'c1',
      execId: 'c1',
      devices: [
        { id: '65', type: 'vfio-pci-gk', vmPath: '', containerPath: '/dev/vfio/65', options: ['0000:41:00.0=02/00'] },
      ],
      OCI: {
        Version: '1.1.0',
        Process: {
          Args: ['nvidia-smi'],
          Env: ['PATH=/bin'],
          User: { UID: 0, GID: 0, AdditionalGids: [], Username: '' },
          Cwd: '/',
        },
        Linux: {
          Devices: [{ Path: '/dev/vfio/65', Type: 'c', Major: 243, Minor: 1, FileMode: 0o666, UID: 0, GID: 0 }],
        },
        Annotations: { 'io.katacontainers.pkg.oci.container_type': 'pod_container' },
      },
    };
    const back = c.decode(c.encode(req)) as {
      OCI: { Process: { Args: string[] }; Linux: { Devices: Array<{ Major: number }> }; Annotations: object };
    };
    expect(back.OCI.Process.Args).toEqual(['nvidia-smi']);
    expect(back.OCI.Linux.Devices[0]!.Major).toBe(243);
    expect(back.OCI.Annotations).toEqual(req.OCI.Annotations);
    expect((back as unknown as { devices: unknown[] }).devices).toEqual(req.devices);
  });

  it('rejects wrong field types naming the message and field', () => {
    const c = messageCodec('containerd.task.v2.KillRequest');
    expect(() => c.encode({ signal: 'KILL' })).toThrow(/containerd\.task\.v2\.KillRequest: signal: integer expected/);
    expect(() => messageCodec('containerd.task.v2.StateResponse').encode({ status: 42 })).toThrow(
      /status: enum value expected/,
    );
  });

  it('the agent service has every RPC from the reference §4', () => {
    const names = serviceMethods(AGENT_SERVICE).map((m) => m.name);
    const expected = [
      'CreateContainer',
      'StartContainer',
      'RemoveContainer',
      'ExecProcess',
      'SignalProcess',
      'WaitProcess',
      'UpdateContainer',
      'UpdateEphemeralMounts',
      'StatsContainer',
      'PauseContainer',
      'ResumeContainer',
      'RemoveStaleVirtiofsShareMounts',
      'WriteStdin',
      'ReadStdout',
      'ReadStderr',
      'CloseStdin',
      'TtyWinResize',
      'UpdateInterface',
      'UpdateRoutes',
      'ListInterfaces',
      'ListRoutes',
      'AddARPNeighbors',
      'GetIPTables',
      'SetIPTables',
      'GetMetrics',
      'MemAgentMemcgSet',
      'MemAgentCompactSet',
      'CreateSandbox',
      'DestroySandbox',
      'OnlineCPUMem',
      'ReseedRandomDev',
      'GetGuestDetails',
      'MemHotplugByProbe',
      'SetGuestDateTime',
      'CopyFile',
      'GetOOMEvent',
      'AddSwap',
      'AddSwapPath',
      'GetVolumeStats',
      'ResizeVolume',
      'SetPolicy',
    ];
    for (const n of expected) expect(names).toContain(n);
    expect([...AGENT_METHOD_NAMES].sort()).toEqual([...names].sort());
    expect(names).not.toContain('PullImage');
    // key field numbers from §4
    const ids = (t: string): Record<string, number> =>
      Object.fromEntries(lookupMessage(t).fieldsArray.map((f) => [f.name, f.id]));
    expect(ids('grpc.CreateContainerRequest')).toMatchObject({
      containerId: 1,
      execId: 2,
      stringUser: 3,
      devices: 4,
      storages: 5,
      OCI: 6,
      sandboxPidns: 7,
      sharedMounts: 8,
      stdinPort: 9,
      stdoutPort: 10,
      stderrPort: 11,
    });
    expect(ids('grpc.Storage')).toMatchObject({
      driver: 1,
      driverOptions: 2,
      source: 3,
      fstype: 4,
      options: 5,
      mountPoint: 6,
      fsGroup: 7,
      shared: 8,
    });
    expect(ids('grpc.FSGroup')).toEqual({ groupId: 2, groupChangePolicy: 3 });
    expect(ids('grpc.Spec')).toEqual({
      Version: 1,
      Process: 2,
      Root: 3,
      Hostname: 4,
      Mounts: 5,
      Hooks: 6,
      Annotations: 7,
      Linux: 8,
      Solaris: 9,
      Windows: 10,
    });
    expect(ids('containerd.task.v2.StateResponse')).toEqual({
      id: 1,
      bundle: 2,
      pid: 3,
      status: 4,
      stdin: 5,
      stdout: 6,
      stderr: 7,
      terminal: 8,
      exitStatus: 9,
      exitedAt: 10,
      execId: 11,
    });
    expect(ids('containerd.events.TaskDelete')).toEqual({ containerId: 1, pid: 2, exitStatus: 3, exitedAt: 4, id: 5 });
    expect(ids('v1.ContainerResources')).toEqual({ name: 1, devices: 2, cpuIds: 3, memory: 4, dynamicResources: 5 });
  });
});
