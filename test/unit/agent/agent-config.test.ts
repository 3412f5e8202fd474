/** Kernel command line, cgroup driver/path translation, virtio-serial port discovery, OCI bundle, output buffering. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import {
  cgroupsPathFor,
  checkId,
  detectCgroupDriver,
  findVirtioPort,
  listVirtioPorts,
  ociConfigFromGrpcSpec,
  OutputBuffer,
  parseAgentCmdline,
  rootIsInitramfs,
  splitCmdline,
} from '../../../src/agent/index.js';
import { DEFAULT_NATIVE_ADDON, GUEST_PROTO_DIR as AGENT_PROTO_DIR } from '../../../src/agent/main-constants.js';
import { GUEST_NATIVE_ADDON_PATH, GUEST_PROTO_DIR } from '../../../src/guest-image/index.js';
import { ociJsonToGrpcSpec } from '../../../src/protocols/oci-spec.js';

describe('kernel command line', () => {
  it('reads the agent parameters like the Kata agent', () => {
    const c = parseAgentCmdline(
      'console=hvc0 quiet agent.transport=virtio-serial agent.log=debug agent.launch_process_timeout=9 agent.unknown=1 "x=a b"',
    );
    expect(c).toMatchObject({
      transport: 'virtio-serial',
      logLevel: 'debug',
      launchProcessTimeoutMs: 9000,
      vsockPort: 1024,
      channelName: 'agent.channel.0',
    });
    expect(parseAgentCmdline('').transport).toBe('vsock');
    expect(splitCmdline('a "b c" d')).toEqual(['a', 'b c', 'd']);
  });
  it('names the parameter and the expected values on bad input', () => {
    expect(() => parseAgentCmdline('agent.transport=tcp')).toThrow(
      /agent.transport=tcp: expected "vsock" or "virtio-serial"/,
    );
    expect(() => parseAgentCmdline('agent.launch_process_timeout=-1')).toThrow(/expected a positive integer/);
  });
});

describe('cgroups', () => {
  it('translates a systemd-style path to cgroupfs when systemd is not the init', () => {
    expect(cgroupsPathFor('cgroupfs', 'kubepods-besteffort-pod12.slice:cri-containerd:abc', 'abc')).toBe(
      '/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod12.slice/cri-containerd-abc.scope',
    );
    expect(cgroupsPathFor('cgroupfs', '/default/c1', 'c1')).toBe('/default/c1');
    expect(cgroupsPathFor('cgroupfs', '', 'c1')).toBe('/c1');
    expect(cgroupsPathFor('systemd', 'system.slice:ccgpu:c1', 'c1')).toBe('system.slice:ccgpu:c1');
  });
  it('fails with a clear message instead of crashing', () => {
    expect(() => cgroupsPathFor('systemd', '/default/c1', 'c1')).toThrow(/needs "slice:prefix:name"/);
    expect(() => cgroupsPathFor('cgroupfs', '/a/../b', 'c1')).toThrow(/must not contain "\.\."/);
    expect(() => cgroupsPathFor('cgroupfs', 'bad:prefix:x', 'c1')).toThrow(/not a slice name/);
  });
  it('chooses systemd only when PID 1 is systemd', () => {
    const proc = fs.mkdtempSync(path.join(os.tmpdir(), 'ccgpu-proc-'));
    fs.mkdirSync(path.join(proc, '1'));
    fs.writeFileSync(path.join(proc, '1/comm'), 'node\n');
    expect(detectCgroupDriver(proc)).toBe('cgroupfs');
    fs.writeFileSync(path.join(proc, '1/comm'), 'systemd\n');
    expect(detectCgroupDriver(proc)).toBe('systemd');
    fs.rmSync(proc, { recursive: true });
  });
});

describe('virtio-serial ports', () => {
  it('finds a port by name in /sys/class/virtio-ports, skipping unnamed console ports', () => {
    const sys = fs.mkdtempSync(path.join(os.tmpdir(), 'ccgpu-sys-'));
    const port = (dev: string, name: string, mm: string) => {
      fs.mkdirSync(path.join(sys, 'class/virtio-ports', dev), { recursive: true });
      fs.writeFileSync(path.join(sys, 'class/virtio-ports', dev, 'name'), name);
      fs.writeFileSync(path.join(sys, 'class/virtio-ports', dev, 'dev'), `${mm}\n`);
    };
    port('vport0p0', '', '251:0');
    port('vport0p1', 'agent.channel.0\n', '251:1');
    expect(listVirtioPorts(sys)).toEqual([{ device: 'vport0p1', name: 'agent.channel.0', major: 251, minor: 1 }]);
    expect(findVirtioPort('agent.channel.0', sys)?.device).toBe('vport0p1');
    expect(findVirtioPort('other', sys)).toBeUndefined();
    fs.rmSync(sys, { recursive: true });
  });
});

describe('OCI bundle', () => {
  const grpc = (o: object) => ociJsonToGrpcSpec(o as never) as Record<string, unknown>;
  it('builds config.json from grpc.Spec with the translated cgroups path', () => {
    const c = ociConfigFromGrpcSpec(
      grpc({
        process: { args: ['echo', 'hi'], cwd: '/' },
        root: { path: '/run/ccgpu/shared/c1/rootfs' },
        linux: { cgroupsPath: 'a.slice:p:c1' },
      }),
      {
        containerId: 'c1',
        cgroupDriver: 'cgroupfs',
      },
    );
    expect(c).toMatchObject({
      process: { args: ['echo', 'hi'] },
      root: { path: '/run/ccgpu/shared/c1/rootfs' },
      linux: { cgroupsPath: '/a.slice/p-c1.scope' },
    });
  });
  it('refuses a spec without root or args, and ids that would escape a path', () => {
    expect(() => ociConfigFromGrpcSpec(undefined, { containerId: 'c', cgroupDriver: 'cgroupfs' })).toThrow(
      /no OCI spec/,
    );
    expect(() =>
      ociConfigFromGrpcSpec(grpc({ process: { args: ['x'] }, root: { path: 'rel' } }), {
        containerId: 'c',
        cgroupDriver: 'cgroupfs',
      }),
    ).toThrow(/absolute guest path/);
    expect(() =>
      ociConfigFromGrpcSpec(grpc({ process: { args: [] }, root: { path: '/r' } }), {
        containerId: 'c',
        cgroupDriver: 'cgroupfs',
      }),
    ).toThrow(/process.args is empty/);
    expect(() => checkId('../etc', 'container_id')).toThrow(/container_id "..\/etc" is not valid/);
  });
  it('uses --no-pivot only when / is the initramfs', () => {
    expect(rootIsInitramfs('rootfs / rootfs rw 0 0\nproc /proc proc rw 0 0\n')).toBe(true);
    expect(rootIsInitramfs('/dev/vda / erofs ro 0 0\n')).toBe(false);
  });
  it('the agent and the image builder agree on where the .proto files and the native addon are', () => {
    expect(AGENT_PROTO_DIR).toBe(GUEST_PROTO_DIR);
    expect(DEFAULT_NATIVE_ADDON).toBe(GUEST_NATIVE_ADDON_PATH);
  });
});

describe('OutputBuffer', () => {
  it('waits for data, returns at most len bytes, ends with EOF, applies back-pressure', async () => {
    const src = new PassThrough();
    const b = new OutputBuffer('c1 stdout', 8);
    b.attach(src);
    const pending = b.read(3);
    src.write('hello world');
    expect((await pending).toString()).toBe('hel');
    await new Promise((r) => setImmediate(r));
    expect(src.isPaused()).toBe(true);
    expect((await b.read(0)).toString()).toBe('lo world');
    expect(src.isPaused()).toBe(false);
    src.end();
    await expect(b.read(10)).rejects.toThrow(/c1 stdout: EOF/);
  });
});
