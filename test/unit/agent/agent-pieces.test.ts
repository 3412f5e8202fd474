/**
 * The guest agent's host-testable pieces: storage mount commands, VFIO device options, interface/route commands,
 * zombie discovery from a /proc tree, cgroup v2 stats, and a ContainerProcess driven by a stand-in for runc (a shell
 * script that writes the pid file and runs the command, as `runc run` does in the foreground).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  cgroupStats,
  ContainerProcess,
  interfaceCommands,
  linkByMac,
  mountCommandFor,
  routeCommand,
  vfioAssignments,
  zombieChildren,
} from '../../../src/agent/index.js';
import { silentLogger } from '../../../src/log/index.js';

const storage = (o: Partial<Parameters<typeof mountCommandFor>[0]>) => ({
  driver: '',
  driverOptions: [],
  source: '',
  fstype: '',
  options: [],
  mountPoint: '',
  shared: false,
  ...o,
});

describe('storages', () => {
  it('maps the drivers a ccgpu host sends to mount commands', () => {
    expect(
      mountCommandFor(storage({ driver: 'virtio-fs', source: 'kataShared', mountPoint: '/run/ccgpu/shared' })),
    ).toEqual({
      fstype: 'virtiofs',
      source: 'kataShared',
      target: '/run/ccgpu/shared',
      options: [],
    });
    expect(mountCommandFor(storage({ driver: '9p', source: 'kataShared', mountPoint: '/m' })).options).toEqual([
      'trans=virtio',
      'version=9p2000.L',
    ]);
    expect(mountCommandFor(storage({ driver: 'ephemeral', mountPoint: '/e', options: ['size=1m'] }))).toMatchObject({
      fstype: 'tmpfs',
      options: ['size=1m'],
    });
    expect(
      mountCommandFor(storage({ driver: 'bind', source: '/a', mountPoint: '/b', options: ['ro'] })).options,
    ).toEqual(['bind', 'ro']);
  });
  it('refuses bad mount points, options and unknown drivers by name', () => {
    expect(() => mountCommandFor(storage({ driver: 'virtio-fs', source: 't', mountPoint: 'rel' }))).toThrow(
      /mount_point must be an absolute path/,
    );
    expect(() => mountCommandFor(storage({ driver: 'virtio-fs', source: 't', mountPoint: '/a/../etc' }))).toThrow(
      /without "\.\."/,
    );
    expect(() =>
      mountCommandFor(storage({ driver: 'virtio-fs', source: 't', mountPoint: '/a', options: ['ro,exec'] })),
    ).toThrow(/mount option "ro,exec" is not valid/);
    expect(() => mountCommandFor(storage({ driver: 'nvdimm', source: 't', mountPoint: '/a' }))).toThrow(
      /storage driver "nvdimm" is not supported/,
    );
  });
});

describe('VFIO devices', () => {
  const dev = (type: string, options: string[]) => ({
    id: 'vfio0',
    type,
    vmPath: '',
    containerPath: '/dev/vfio/devices/vfio0',
    options,
  });
  it('parses "<host BDF>=<guest PCI path>" for every function', () => {
    expect(vfioAssignments([dev('vfio-pci-gk', ['0000:41:00.0=02/00', '0000:41:00.1=02/01'])])).toEqual([
      { id: 'vfio0', type: 'vfio-pci-gk', hostBdf: '0000:41:00.0', guestPciPath: '02/00' },
      { id: 'vfio0', type: 'vfio-pci-gk', hostBdf: '0000:41:00.1', guestPciPath: '02/01' },
    ]);
  });
  it('refuses other device types and malformed options', () => {
    expect(() => vfioAssignments([dev('blk', [])])).toThrow(/type "blk" is not supported/);
    expect(() => vfioAssignments([dev('vfio-pci', [])])).toThrow(/needs options/);
    expect(() => vfioAssignments([dev('vfio-pci', ['41:00.0=2'])])).toThrow(/is not "<host BDF>=<guest PCI path>"/);
  });
});

describe('network', () => {
  it('configures an interface found by MAC: rename, mtu, addresses, up', () => {
    const sys = fs.mkdtempSync(path.join(os.tmpdir(), 'ccgpu-net-'));
    fs.mkdirSync(path.join(sys, 'class/net/eth0'), { recursive: true });
    fs.writeFileSync(path.join(sys, 'class/net/eth0/address'), '52:54:00:12:34:56\n');
    expect(linkByMac('52:54:00:12:34:56'.toUpperCase(), sys)).toBe('eth0');
    expect(linkByMac('00:00:00:00:00:01', sys)).toBeUndefined();
    expect(
      interfaceCommands({ name: 'eth0', mtu: 1450, IPAddresses: [{ address: '10.0.0.5', mask: '24' }] }, 'eth0'),
    ).toEqual([
      ['link', 'set', 'dev', 'eth0', 'mtu', '1450'],
      ['addr', 'flush', 'dev', 'eth0'],
      ['addr', 'add', '10.0.0.5/24', 'dev', 'eth0'],
      ['link', 'set', 'dev', 'eth0', 'up'],
    ]);
    expect(() =>
      interfaceCommands({ name: 'eth0', IPAddresses: [{ address: '10.0.0.5; reboot', mask: '24' }] }, 'eth0'),
    ).toThrow(/is not valid/);
    fs.rmSync(sys, { recursive: true });
  });
  it('builds routes: default via gateway, link scope', () => {
    expect(routeCommand({ gateway: '10.0.0.1', device: 'eth0' })).toEqual([
      'route',
      'replace',
      'default',
      'via',
      '10.0.0.1',
      'dev',
      'eth0',
    ]);
    expect(routeCommand({ dest: '10.0.0.0/24', device: 'eth0', scope: 253 })).toEqual([
      'route',
      'replace',
      '10.0.0.0/24',
      'dev',
      'eth0',
      'scope',
      'link',
    ]);
    expect(() => routeCommand({ dest: '$(x)' })).toThrow(/route destination/);
  });
});

describe('PID 1: zombies', () => {
  it('finds zombie children of a pid, also with spaces and parentheses in comm', () => {
    const proc = fs.mkdtempSync(path.join(os.tmpdir(), 'ccgpu-proc-'));
    const stat = (pid: number, comm: string, state: string, ppid: number) => {
      fs.mkdirSync(path.join(proc, String(pid)));
      fs.writeFileSync(path.join(proc, String(pid), 'stat'), `${pid} (${comm}) ${state} ${ppid} 1 1 0 -1\n`);
    };
    stat(10, 'sh', 'Z', 1);
    stat(11, 'weird ) name', 'Z', 1);
    stat(12, 'runc', 'S', 1);
    stat(13, 'cat', 'Z', 10);
    fs.mkdirSync(path.join(proc, 'self'));
    expect(zombieChildren(1, proc).sort()).toEqual([10, 11]);
    fs.rmSync(proc, { recursive: true });
  });
});

describe('cgroup stats', () => {
  it('reads cgroup v2 files into the agent API shape', () => {
    const cg = fs.mkdtempSync(path.join(os.tmpdir(), 'ccgpu-cg-'));
    fs.writeFileSync(
      path.join(cg, 'cpu.stat'),
      'usage_usec 1500\nuser_usec 1000\nsystem_usec 500\nnr_periods 3\nnr_throttled 1\nthrottled_usec 7\n',
    );
    fs.writeFileSync(path.join(cg, 'memory.current'), '4096\n');
    fs.writeFileSync(path.join(cg, 'memory.max'), 'max\n');
    fs.writeFileSync(path.join(cg, 'memory.stat'), 'anon 100\nfile 200\n');
    fs.writeFileSync(path.join(cg, 'pids.current'), '3\n');
    fs.writeFileSync(path.join(cg, 'pids.max'), '100\n');
    const s = cgroupStats(cg);
    expect(s.cpuStats.cpuUsage).toEqual({
      totalUsage: 1_500_000,
      percpuUsage: [],
      usageInKernelmode: 500_000,
      usageInUsermode: 1_000_000,
    });
    expect(s.cpuStats.throttlingData).toEqual({ periods: 3, throttledPeriods: 1, throttledTime: 7000 });
    expect(s.memoryStats.usage).toMatchObject({ usage: 4096, limit: 0 });
    expect(s.memoryStats.cache).toBe(200);
    expect(s.pidsStats).toEqual({ current: 3, limit: 100 });
    fs.rmSync(cg, { recursive: true });
  });
});

describe('ContainerProcess with a stand-in for runc', () => {
  // like `runc run --pid-file P`: write the pid file, then become the container process
  const fakeRunc = (dir: string) => {
    const f = path.join(dir, 'runc');
    fs.writeFileSync(f, '#!/bin/sh\npidfile="$1"; shift\necho $$ > "$pidfile"\nexec "$@"\n', { mode: 0o755 });
    return f;
  };
  const launch = (dir: string, args: string[]) => ({
    argv: [fakeRunc(dir), path.join(dir, 'pid'), ...args],
    pidFile: path.join(dir, 'pid'),
    logFile: path.join(dir, 'log'),
    terminal: false,
    startTimeoutMs: 5_000,
  });

  it('buffers output, takes stdin, reports the exit status', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ccgpu-cp-'));
    const p = new ContainerProcess('c1', 'c1', silentLogger);
    await p.start(launch(dir, ['sh', '-c', 'read x; echo "got $x"; echo err >&2; exit 4']));
    expect(p.pid).toBeGreaterThan(0);
    expect(await p.writeStdin(Buffer.from('hi\n'))).toBe(3);
    p.closeStdin();
    await expect(p.writeStdin(Buffer.from('late'))).rejects.toThrow(/stdin is closed \(CloseStdin was called\)/);
    expect((await p.stdout.read(100)).toString()).toBe('got hi\n');
    expect((await p.stderr.read(100)).toString()).toBe('err\n');
    expect(await p.wait()).toBe(4);
    await expect(p.stdout.read(100)).rejects.toThrow(/EOF/);
    fs.rmSync(dir, { recursive: true });
  });

  it('signals the container process and reports 128+signal', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ccgpu-cp-'));
    const p = new ContainerProcess('c2', 'c2', silentLogger);
    await p.start(launch(dir, ['sleep', '30']));
    p.signal(9);
    expect(await p.wait()).toBe(137);
    expect(() => p.signal(15)).toThrow(/already exited/);
    fs.rmSync(dir, { recursive: true });
  });

  it("fails the start with runc's own error when it exits before the process starts", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ccgpu-cp-'));
    fs.writeFileSync(
      path.join(dir, 'log'),
      '{"level":"error","msg":"exec: \\"nope\\": executable file not found in $PATH"}\n',
    );
    const f = path.join(dir, 'failing-runc');
    fs.writeFileSync(f, '#!/bin/sh\nexit 1\n', { mode: 0o755 });
    const p = new ContainerProcess('c3', 'c3', silentLogger);
    await expect(p.start({ ...launch(dir, []), argv: [f] })).rejects.toThrow(
      /container c3: exec: "nope": executable file not found/,
    );
    fs.rmSync(dir, { recursive: true });
  });
});
