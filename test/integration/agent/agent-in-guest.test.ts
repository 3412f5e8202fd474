/**
 * The real agent in a real guest: the guest image (Debian cloud kernel, busybox, node, runc, our bundled agent as
 * PID 1) boots under QEMU TCG with a virtio-serial agent port and a virtio-fs shared directory; the host drives
 * the Kata agent API over ttrpc and checks what runc really did in the guest. One boot for the whole scenario.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectAgent, type ConnectedAgent } from '../../../src/agent-client/index.js';
import { silentLogger } from '../../../src/log/index.js';
import { ociJsonToGrpcSpec } from '../../../src/protocols/oci-spec.js';
import { startVirtiofsd } from '../../../src/sandbox/virtiofsd.js';
import type { Spawned } from '../../../src/subprocess/index.js';
import { guestImage, haveCommand } from '../../fixtures/ccgpu-test-env.js';

const VIRTIOFSD = '/usr/lib/qemu/virtiofsd';
const missing = [
  ...['qemu-system-x86_64', 'runc'].filter((c) => !haveCommand(c)),
  ...(fs.existsSync(VIRTIOFSD) ? [] : [VIRTIOFSD]),
  ...(fs.existsSync('/bin/busybox') ? [] : ['/bin/busybox (busybox-static)']),
  ...(process.getuid?.() === 0 ? [] : ['root']),
];
if (missing.length) console.warn(`SKIP agent-in-guest: missing ${missing.join(', ')}`);

const GUEST_SHARED = '/run/ccgpu/shared';

function busyboxRootfs(dir: string): void {
  fs.mkdirSync(path.join(dir, 'bin'), { recursive: true });
  for (const d of ['proc', 'sys', 'dev', 'tmp', 'etc']) fs.mkdirSync(path.join(dir, d), { recursive: true });
  fs.copyFileSync('/bin/busybox', path.join(dir, 'bin/busybox'));
  fs.chmodSync(path.join(dir, 'bin/busybox'), 0o755);
  for (const a of ['sh', 'echo', 'cat', 'sleep', 'stty', 'ls', 'id', 'true'])
    fs.symlinkSync('busybox', path.join(dir, 'bin', a));
  fs.writeFileSync(path.join(dir, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\n');
}

function spec(id: string, args: string[], terminal = false) {
  return ociJsonToGrpcSpec({
    ociVersion: '1.0.2',
    process: { terminal, user: { uid: 0, gid: 0 }, args, env: ['PATH=/bin'], cwd: '/' },
    root: { path: `${GUEST_SHARED}/${id}/rootfs` },
    hostname: id,
    mounts: [
      { destination: '/proc', type: 'proc', source: 'proc' },
      {
        destination: '/dev',
        type: 'tmpfs',
        source: 'tmpfs',
        options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'],
      },
      {
        destination: '/dev/pts',
        type: 'devpts',
        source: 'devpts',
        options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620'],
      },
      { destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['ro', 'nosuid', 'noexec', 'nodev'] },
    ],
    linux: {
      namespaces: [{ type: 'pid' }, { type: 'ipc' }, { type: 'uts' }, { type: 'mount' }, { type: 'cgroup' }],
      cgroupsPath: `kubepods-besteffort.slice:cri-containerd:${id}`,
    },
  });
}

async function readAll(agent: ConnectedAgent, id: string, execId: string, which: 'stdout' | 'stderr'): Promise<string> {
  let out = '';
  for (;;) {
    try {
      const r =
        which === 'stdout'
          ? await agent.client.readStdout({ containerId: id, execId, len: 65536 })
          : await agent.client.readStderr({ containerId: id, execId, len: 65536 });
      out += Buffer.from(r.data).toString();
    } catch {
      return out;
    }
  }
}

describe.skipIf(missing.length > 0)('guest agent in a QEMU guest', () => {
  let dir: string;
  let qemu: ChildProcess;
  let qemuExit: Promise<number | null>;
  let virtiofsd: Spawned;
  let agent: ConnectedAgent;
  const consoleLog = () => fs.readFileSync(path.join(dir, 'console.log'), 'utf8').slice(-6000);

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ccgpu-agent-'));
    const shared = path.join(dir, 'shared');
    for (const id of ['c1', 'c2', 'c3', 'c4']) busyboxRootfs(path.join(shared, id, 'rootfs'));
    const img = await guestImage();
    virtiofsd = await startVirtiofsd({
      binary: VIRTIOFSD,
      socketPath: path.join(dir, 'vfs.sock'),
      sharedDir: shared,
      logger: silentLogger,
    });
    qemu = spawn(
      'qemu-system-x86_64',
      [
        '-machine',
        'q35,accel=tcg',
        '-cpu',
        'max',
        '-m',
        '1024',
        '-smp',
        '1',
        '-nographic',
        '-nodefaults',
        '-no-reboot',
        '-kernel',
        img.kernel,
        '-initrd',
        img.initrd,
        '-append',
        'console=ttyS0 panic=1 quiet agent.transport=virtio-serial agent.log=debug',
        '-serial',
        `file:${path.join(dir, 'console.log')}`,
        '-object',
        'memory-backend-file,id=mem,size=1024M,mem-path=/dev/shm,share=on',
        '-numa',
        'node,memdev=mem',
        '-device',
        'virtio-serial-pci,id=vser',
        '-chardev',
        `socket,id=agent,path=${path.join(dir, 'agent.sock')},server=on,wait=off`,
        '-device',
        'virtserialport,chardev=agent,name=agent.channel.0',
        '-chardev',
        `socket,id=vfs,path=${path.join(dir, 'vfs.sock')}`,
        '-device',
        'vhost-user-fs-pci,chardev=vfs,tag=kataShared',
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    qemuExit = new Promise((r) => qemu.once('exit', (code) => r(code)));
    const t0 = Date.now();
    while (!fs.existsSync(path.join(dir, 'agent.sock'))) {
      if (Date.now() - t0 > 10_000) throw new Error('QEMU did not create the agent socket');
      await new Promise((r) => setTimeout(r, 50));
    }
    agent = await connectAgent(
      { transport: 'virtio-serial', socketPath: path.join(dir, 'agent.sock') },
      { timeoutMs: 120_000, logger: silentLogger },
    ).catch((e: Error) => {
      throw new Error(`${e.message}\n--- guest console:\n${consoleLog()}`);
    });
    await agent.client.createSandbox({
      sandboxId: 'sb1',
      hostname: 'ccgpu-test',
      storages: [
        { driver: 'virtio-fs', source: 'kataShared', fstype: 'virtiofs', options: [], mountPoint: GUEST_SHARED },
      ],
    });
  }, 300_000);

  afterAll(async () => {
    agent?.close();
    if (qemu && qemu.exitCode === null) qemu.kill('SIGKILL');
    virtiofsd?.kill('SIGKILL');
    if (dir && !process.env.CCGPU_KEEP_TEST_DIR) fs.rmSync(dir, { recursive: true, force: true });
  }, 30_000);

  it('runs a container with runc: stdout, exit status 0', async () => {
    await agent.client.createContainer({
      containerId: 'c1',
      execId: 'c1',
      OCI: spec('c1', ['sh', '-c', 'echo hello; echo oops >&2']),
    });
    await agent.client.startContainer({ containerId: 'c1' });
    const [out, err] = await Promise.all([readAll(agent, 'c1', 'c1', 'stdout'), readAll(agent, 'c1', 'c1', 'stderr')]);
    expect(out, consoleLog()).toBe('hello\n');
    expect(err).toBe('oops\n');
    expect((await agent.client.waitProcess({ containerId: 'c1', execId: 'c1' })).status).toBe(0);
    await agent.client.removeContainer({ containerId: 'c1' });
  }, 120_000);

  it('propagates a non-zero exit status and stdin', async () => {
    await agent.client.createContainer({
      containerId: 'c2',
      execId: 'c2',
      OCI: spec('c2', ['sh', '-c', 'read line; echo "got $line"; exit 3']),
    });
    await agent.client.startContainer({ containerId: 'c2' });
    await agent.client.writeStdin({ containerId: 'c2', execId: 'c2', data: Buffer.from('ping\n') });
    await agent.client.closeStdin({ containerId: 'c2', execId: 'c2' });
    expect(await readAll(agent, 'c2', 'c2', 'stdout')).toBe('got ping\n');
    expect((await agent.client.waitProcess({ containerId: 'c2', execId: '' })).status).toBe(3);
    await agent.client.removeContainer({ containerId: 'c2' });
  }, 120_000);

  it('execs into a running container, updates its resources, signals it, and translates a systemd cgroupsPath', async () => {
    await agent.client.createContainer({ containerId: 'c3', execId: 'c3', OCI: spec('c3', ['sleep', '300']) });
    await agent.client.startContainer({ containerId: 'c3' });
    // UpdateContainer → runc update: the new memory limit is what the container's cgroup says
    await agent.client.updateContainer({
      containerId: 'c3',
      resources: { Memory: { Limit: 64 * 1024 * 1024 } } as never,
    });
    const proc = ociJsonToGrpcSpec({
      process: {
        args: ['sh', '-c', 'cat /sys/fs/cgroup/memory.max; hostname'],
        env: ['PATH=/bin'],
        cwd: '/',
        user: { uid: 0, gid: 0 },
      },
    }).Process;
    await agent.client.execProcess({ containerId: 'c3', execId: 'e1', process: proc as never });
    const out = await readAll(agent, 'c3', 'e1', 'stdout');
    expect((await agent.client.waitProcess({ containerId: 'c3', execId: 'e1' })).status).toBe(0);
    expect(out).toBe('67108864\nc3\n');
    // cgroupfs path the systemd driver would have made (seen from the guest's side, outside the container's cgroup namespace)
    const stats = await agent.client.statsContainer({ containerId: 'c3' });
    expect(
      (stats as { cgroupStats?: { memoryStats?: { usage?: { limit?: number } } } }).cgroupStats?.memoryStats?.usage
        ?.limit,
    ).toBe(64 * 1024 * 1024);
    await agent.client.signalProcess({ containerId: 'c3', execId: 'c3', signal: 9 });
    expect((await agent.client.waitProcess({ containerId: 'c3', execId: 'c3' })).status).toBe(137);
    await agent.client.removeContainer({ containerId: 'c3' });
  }, 120_000);

  it('gives a terminal to a tty container and resizes it', async () => {
    await agent.client.createContainer({
      containerId: 'c4',
      execId: 'c4',
      OCI: spec('c4', ['sh', '-c', 'sleep 1; stty size; [ -t 0 ] && echo tty'], true),
    });
    await agent.client.startContainer({ containerId: 'c4' });
    await agent.client.ttyWinResize({ containerId: 'c4', execId: 'c4', row: 33, column: 101 });
    const out = await readAll(agent, 'c4', 'c4', 'stdout');
    expect(out.replace(/\r/g, '')).toContain('33 101\ntty\n');
    expect((await agent.client.waitProcess({ containerId: 'c4', execId: 'c4' })).status).toBe(0);
    await agent.client.removeContainer({ containerId: 'c4' });
  }, 120_000);

  it('answers errors, never crashes: unknown container, unimplemented method, bad device', async () => {
    await expect(agent.client.startContainer({ containerId: 'nope' })).rejects.toThrow(/container nope not found/);
    await expect(agent.client.pauseContainer({ containerId: 'x' })).rejects.toThrow(
      /PauseContainer is not implemented/,
    );
    await expect(
      agent.client.createContainer({
        containerId: 'c5',
        execId: 'c5',
        OCI: spec('c5', ['true']),
        devices: [{ id: 'd', type: 'blk', vmPath: '/dev/vdb', containerPath: '/dev/vdb', options: [] }],
      }),
    ).rejects.toThrow(/type "blk" is not supported/);
    expect(await agent.client.check()).toBe(1);
    const details = await agent.client.getGuestDetails({ memBlockSize: true, memHotplugProbe: true } as never);
    expect(details.agentDetails?.initDaemon).toBe(true);
  }, 60_000);

  it('DestroySandbox powers the VM off', async () => {
    await agent.client.destroySandbox({});
    const code = await Promise.race([qemuExit, new Promise((r) => setTimeout(() => r('timeout'), 60_000))]);
    expect(code).toBe(0);
  }, 90_000);
});
