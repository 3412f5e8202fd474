/** cdi-shim-agent-protocols.md checks 8 (start output) and 10 (delete output), and the shim's flag parsing. */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { daemonArgs, parseShimFlags } from '../../../src/shim/flags.js';
import { groupOf, socketAddress, socketPath } from '../../../src/shim/address.js';
import { configPathFromOptions } from '../../../src/shim/task-service.js';
import { shimDelete } from '../../../src/shim/delete.js';
import { messageCodec } from '../../../src/protocols/index.js';

const temps: string[] = [];
const tmp = (): string => {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'ccgpu-shim-'));
  temps.push(d);
  return d;
};
afterAll(() => temps.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

describe('flags', () => {
  it('parses containerd start/delete invocations in Go flag syntax', () => {
    const f = parseShimFlags([
      '-namespace',
      'k8s.io',
      '-address',
      '/run/containerd/containerd.sock',
      '-publish-binary',
      '/usr/bin/containerd',
      '-id',
      'abc',
      '-debug',
      'start',
    ]);
    expect(f).toMatchObject({
      namespace: 'k8s.io',
      address: '/run/containerd/containerd.sock',
      publishBinary: '/usr/bin/containerd',
      id: 'abc',
      debug: true,
      action: 'start',
    });
    expect(parseShimFlags(['--namespace=default', '-id=x', '-bundle', '/b', 'delete'])).toMatchObject({
      namespace: 'default',
      id: 'x',
      bundle: '/b',
      action: 'delete',
    });
    expect(parseShimFlags(['-id', 'x']).action).toBe('serve');
    expect(() => parseShimFlags(['-bogus', 'x'])).toThrow('unknown flag -bogus');
    expect(() => parseShimFlags(['-id'])).toThrow('flag -id needs a value');
    expect(daemonArgs(f)).toEqual([
      '-namespace',
      'k8s.io',
      '-id',
      'abc',
      '-address',
      '/run/containerd/containerd.sock',
      '-publish-binary',
      '/usr/bin/containerd',
      '-debug',
    ]);
  });
});

describe('start address (check 8)', () => {
  it('is unix:///run/containerd/s/<sha256(address/ns/id)>', () => {
    const p = socketPath('/run/containerd/containerd.sock', 'k8s.io', 'abc');
    expect(socketAddress(p)).toBe(
      'unix:///run/containerd/s/a99a1752d3a0fadfb1f869026f16760475df03a572e20f4ccea9e6c1e5470b72',
    );
  });
  it('containers of a CRI sandbox share the sandbox address', () => {
    expect(
      groupOf('c1', { 'io.kubernetes.cri.container-type': 'container', 'io.kubernetes.cri.sandbox-id': 'abc' }),
    ).toEqual({ group: 'abc', isSandbox: false });
    expect(
      groupOf('abc', { 'io.kubernetes.cri.container-type': 'sandbox', 'io.kubernetes.cri.sandbox-id': 'abc' }),
    ).toEqual({ group: 'abc', isSandbox: true });
    expect(groupOf('solo', {})).toEqual({ group: 'solo', isSandbox: true });
  });
  it('a container start prints the sandbox address, spawns nothing and keeps stderr empty', () => {
    const bundle = tmp();
    fs.writeFileSync(
      path.join(bundle, 'config.json'),
      JSON.stringify({
        annotations: { 'io.kubernetes.cri.container-type': 'container', 'io.kubernetes.cri.sandbox-id': 'abc' },
      }),
    );
    const r = spawnSync(
      process.execPath,
      [
        '--import',
        pathToFileURL(path.resolve('node_modules/tsx/dist/loader.mjs')).href,
        path.resolve('src/shim/main.ts'),
        '-namespace',
        'k8s.io',
        '-address',
        '/run/containerd/containerd.sock',
        '-id',
        'c1',
        'start',
      ],
      { cwd: bundle, encoding: 'utf8' },
    );
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toBe('unix:///run/containerd/s/a99a1752d3a0fadfb1f869026f16760475df03a572e20f4ccea9e6c1e5470b72');
    expect(fs.readFileSync(path.join(bundle, 'address'), 'utf8')).toBe(r.stdout);
  });
});

describe('delete (check 10)', () => {
  it('writes a raw DeleteResponse with exit 137 and removes the sandbox state', async () => {
    const bundle = tmp();
    const runRoot = tmp();
    fs.mkdirSync(path.join(runRoot, 'sb1', 'shared'), { recursive: true });
    const bytes = await shimDelete(parseShimFlags(['-id', 'sb1', '-bundle', bundle, 'delete']), { runRoot });
    const resp = messageCodec<{ pid: number; exitStatus: number; exitedAt: { seconds: number } }>(
      'containerd.task.v2.DeleteResponse',
    ).decode(bytes);
    expect(resp.exitStatus).toBe(137);
    expect(Math.abs(resp.exitedAt.seconds - Date.now() / 1000)).toBeLessThan(5);
    expect(Buffer.from(bytes).subarray(0, 3)).toEqual(Buffer.from([0x10, 0x89, 0x01]));
    expect(fs.existsSync(path.join(runRoot, 'sb1'))).toBe(false);
  });
  it('encodes the reference golden bytes for exit 137 at t=1700000000', () => {
    const c = messageCodec('containerd.task.v2.DeleteResponse');
    expect(
      Buffer.from(c.encode({ pid: 0, exitStatus: 137, exitedAt: { seconds: 1700000000, nanos: 0 } })).toString('hex'),
    ).toBe('1089011a060880e2cfaa06');
  });
});

describe('runtime options', () => {
  it('reads ConfigPath from runtimeoptions.v1.Options', () => {
    const w = Buffer.concat([Buffer.from([0x0a, 0x01, 0x78]), Buffer.from([0x12, 0x0b]), Buffer.from('/etc/x.toml')]);
    expect(configPathFromOptions({ typeUrl: 'runtimeoptions.v1.Options', value: w })).toBe('/etc/x.toml');
    expect(configPathFromOptions(undefined)).toBeUndefined();
    expect(configPathFromOptions({ typeUrl: 'x', value: Buffer.from([0xff, 0xff]) })).toBeUndefined();
  });
});
