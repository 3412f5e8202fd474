import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  CdiRegistry,
  UnresolvableDevicesError,
  injectDevices,
  type OciSpec,
  type StatDevice,
} from '../../../cdi/index.js';
import { VFIO_GROUP_MAJOR, writeHostTree, hgxH100 } from '../../fixtures/sysfs/host-model.js';
import { fakeDeviceStat } from '../../fixtures/sysfs/fake-device-stat.js';

let tmp: string;
beforeEach(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cdi-reg-'));
});
afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

function put(rel: string, text: string): string {
  const p = path.join(tmp, rel);
  fs.mkdirSync(path.dirname(p), { recursive: true });
  fs.writeFileSync(p, text);
  return p;
}

const vendorSpec = (devs: string[], env: string): string =>
  JSON.stringify({
    cdiVersion: '0.3.0',
    kind: 'vendor1.com/device',
    containerEdits: { env: [`SPEC=${env}`] },
    devices: devs.map((d) => ({ name: d, containerEdits: { env: [`DEV=${d}-${env}`] } })),
  });

describe('CDI registry priority and conflicts (check 15, TestNewCache)', () => {
  it('the later directory (run) overrides etc', () => {
    put('etc/v.yaml', vendorSpec(['dev1'], 'etc'));
    const run = put('run/v.yaml', vendorSpec(['dev1'], 'run'));
    const reg = new CdiRegistry({ specDirs: [path.join(tmp, 'etc'), path.join(tmp, 'run')] });
    expect(reg.getDevice('vendor1.com/device=dev1')?.spec.path).toBe(run);
    const { spec } = reg.injectDevices({}, ['vendor1.com/device=dev1']);
    expect(spec.process?.env).toEqual(['SPEC=run', 'DEV=dev1-run']);
    expect(reg.getErrors().size).toBe(0);
  });

  it('same-directory conflicts drop the device, record both paths, other devices still resolve', () => {
    const a = put('run/a.yaml', vendorSpec(['dev1', 'dev2'], 'a'));
    const b = put('run/b.json', vendorSpec(['dev1'], 'b'));
    const reg = new CdiRegistry({ specDirs: [path.join(tmp, 'etc'), path.join(tmp, 'run')] });
    expect(reg.listDevices()).toEqual(['vendor1.com/device=dev2']);
    const msg = `conflicting device "vendor1.com/device=dev1" (specs "${b}", "${a}")`;
    expect(reg.getErrors().get(a)).toEqual([msg]);
    expect(reg.getErrors().get(b)).toEqual([msg]);
    expect(() => reg.injectDevices({}, ['vendor1.com/device=dev1'])).toThrow(
      `unresolvable CDI devices vendor1.com/device=dev1 (conflicting definitions in specs "${a}", "${b}")`,
    );
    expect(reg.injectDevices({}, ['vendor1.com/device=dev2']).spec.process?.env).toEqual(['SPEC=a', 'DEV=dev2-a']);
  });

  it('a conflict in etc is resolved by a definition in run', () => {
    put('etc/a.yaml', vendorSpec(['dev1'], 'a'));
    put('etc/b.yaml', vendorSpec(['dev1'], 'b'));
    put('run/c.yaml', vendorSpec(['dev1'], 'c'));
    const reg = new CdiRegistry({ specDirs: [path.join(tmp, 'etc'), path.join(tmp, 'run')] });
    expect(reg.injectDevices({}, ['vendor1.com/device=dev1']).spec.process?.env).toEqual(['SPEC=c', 'DEV=dev1-c']);
  });

  it('ignores non-spec files and subdirectories; records broken specs and keeps going', () => {
    put('run/readme.txt', 'not a spec');
    put('run/v.yml', vendorSpec(['dev9'], 'yml'));
    put('run/sub/v.yaml', vendorSpec(['dev8'], 'sub'));
    fs.mkdirSync(path.join(tmp, 'run/dir.yaml'));
    const broken = put('run/broken.yaml', 'cdiVersion: 0.3.0\nkind: vendor1.com/device\ndevices: []\n');
    put('run/good.yaml', vendorSpec(['dev1'], 'good'));
    const reg = new CdiRegistry({ specDirs: [path.join(tmp, 'missing'), path.join(tmp, 'run')] });
    expect(reg.listDevices()).toEqual(['vendor1.com/device=dev1']);
    expect([...reg.getErrors().keys()]).toEqual([broken]);
    expect(reg.getErrors().get(broken)![0]).toBe(
      `failed to load CDI Spec invalid CDI Spec: invalid spec, no devices (spec "${broken}")`,
    );
  });

  it('refresh() picks up new files', () => {
    const reg = new CdiRegistry({ specDirs: [path.join(tmp, 'run')] });
    expect(reg.listDevices()).toEqual([]);
    put('run/v.yaml', vendorSpec(['dev1'], 'x'));
    reg.refresh();
    expect(reg.listDevices()).toEqual(['vendor1.com/device=dev1']);
  });

  it('two vendors inject their devices and global env together (regressions_test.go)', () => {
    put('run/v1.yaml', vendorSpec(['dev1'], 'v1'));
    put(
      'run/v2.json',
      JSON.stringify({
        cdiVersion: '0.3.0',
        kind: 'vendor2.com/gpu',
        containerEdits: { env: ['V2=global'] },
        devices: [
          { name: 'g0', containerEdits: { env: ['G=0'] } },
          { name: 'g1', containerEdits: { env: ['G=1'] } },
        ],
      }),
    );
    const reg = new CdiRegistry({ specDirs: [path.join(tmp, 'run')] });
    const input: OciSpec = { process: { env: ['PATH=/bin', 'G=old'] } };
    const { spec, devices } = reg.injectDevices(input, [
      'vendor1.com/device=dev1',
      'vendor2.com/gpu=g0',
      'vendor2.com/gpu=g1',
    ]);
    expect(spec.process?.env).toEqual(['PATH=/bin', 'G=1', 'SPEC=v1', 'DEV=dev1-v1', 'V2=global']);
    expect(devices.map((d) => d.qualifiedName)).toEqual([
      'vendor1.com/device=dev1',
      'vendor2.com/gpu=g0',
      'vendor2.com/gpu=g1',
    ]);
    expect(input).toEqual({ process: { env: ['PATH=/bin', 'G=old'] } }); // input untouched
  });
});

/** The sandbox-device-plugin legacy spec, as NVIDIA writes it. */
const LEGACY_PGPU = `---
cdiVersion: 0.5.0
kind: nvidia.com/pgpu
devices:
- name: "65"
  containerEdits:
    deviceNodes:
    - path: /dev/vfio/vfio
    - path: /dev/vfio/65
`;

describe('CDI injection for VFIO (check 16)', () => {
  const nodes = new Map<string, ReturnType<StatDevice>>([
    ['/dev/vfio/vfio', { type: 'c', major: 10, minor: 196, fileMode: 0o666 }],
    ['/dev/vfio/65', { type: 'c', major: VFIO_GROUP_MAJOR, minor: 65, fileMode: 0o600 }],
  ]);
  const statDevice: StatDevice = (p) => {
    const n = nodes.get(p);
    if (!n) throw new Error(`ENOENT: no such file or directory, lstat '${p}'`);
    return n;
  };

  it('nvidia.com/pgpu=65 into {} gives both nodes with host numbers and one allow rule each', () => {
    put('run/nvidia.com-pgpu.yaml', LEGACY_PGPU);
    const reg = new CdiRegistry({ specDirs: [path.join(tmp, 'etc'), path.join(tmp, 'run')], statDevice });
    const { spec } = injectDevices({}, ['nvidia.com/pgpu=65'], reg);
    expect(spec).toEqual({
      linux: {
        devices: [
          { path: '/dev/vfio/vfio', type: 'c', major: 10, minor: 196, fileMode: 0o666 },
          { path: '/dev/vfio/65', type: 'c', major: VFIO_GROUP_MAJOR, minor: 65, fileMode: 0o600 },
        ],
        resources: {
          devices: [
            { allow: true, type: 'c', major: 10, minor: 196, access: 'rwm' },
            { allow: true, type: 'c', major: VFIO_GROUP_MAJOR, minor: 65, access: 'rwm' },
          ],
        },
      },
    });
  });

  it('nvidia.com/pgpu=99 is unresolvable, with the known kinds and the closest names', () => {
    put('run/nvidia.com-pgpu.yaml', LEGACY_PGPU);
    const reg = new CdiRegistry({ specDirs: [path.join(tmp, 'run')], statDevice });
    let err: unknown;
    try {
      reg.injectDevices({}, ['nvidia.com/pgpu=99']);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(UnresolvableDevicesError);
    expect((err as Error).message).toBe(
      'unresolvable CDI devices nvidia.com/pgpu=99 (known kinds: nvidia.com/pgpu; closest in nvidia.com/pgpu: 65)',
    );
    expect((err as UnresolvableDevicesError).unresolved).toEqual(['nvidia.com/pgpu=99']);
  });

  it('a missing host node is fatal when the spec gives no type/major', () => {
    put('run/x.yaml', LEGACY_PGPU.replace('/dev/vfio/65', '/dev/vfio/66'));
    const reg = new CdiRegistry({ specDirs: [path.join(tmp, 'run')], statDevice });
    expect(() => reg.injectDevices({}, ['nvidia.com/pgpu=65'])).toThrow(
      `failed to inject devices: failed to stat CDI host device "/dev/vfio/66": ENOENT`,
    );
  });

  it('the real stat fills /dev/null as c 1:3 (container-edits_test.go)', () => {
    put(
      'run/null.json',
      JSON.stringify({
        cdiVersion: '0.3.0',
        kind: 'vendor.com/null',
        devices: [{ name: 'n', containerEdits: { deviceNodes: [{ path: '/dev/null' }] } }],
      }),
    );
    const reg = new CdiRegistry({ specDirs: [path.join(tmp, 'run')] });
    const { spec } = reg.injectDevices({ process: { user: { uid: 1000, gid: 1000 } } }, ['vendor.com/null=n']);
    expect(spec.linux?.devices).toEqual([
      { path: '/dev/null', type: 'c', major: 1, minor: 3, fileMode: 0o666, uid: 1000, gid: 1000 },
    ]);
    expect(spec.linux?.resources?.devices).toEqual([{ allow: true, type: 'c', major: 1, minor: 3, access: 'rwm' }]);
  });

  it('a regular file is not a device node; a type mismatch is an error; minimal specs need no stat', () => {
    const file = put('hostfile', 'x');
    const mk = (node: object): CdiRegistry => {
      put(
        'run/s.json',
        JSON.stringify({
          cdiVersion: '0.5.0',
          kind: 'vendor.com/d',
          devices: [{ name: 'd', containerEdits: { deviceNodes: [node] } }],
        }),
      );
      return new CdiRegistry({ specDirs: [path.join(tmp, 'run')] });
    };
    expect(() => mk({ path: '/dev/x', hostPath: file }).injectDevices({}, ['vendor.com/d=d'])).toThrow(
      `failed to stat CDI host device "${file}": not a device node`,
    );
    expect(() =>
      mk({ path: '/dev/x', hostPath: '/dev/null', type: 'b' }).injectDevices({}, ['vendor.com/d=d']),
    ).toThrow('CDI device ("/dev/x", "/dev/null"), host type mismatch (b, c)');
    const { spec } = mk({
      path: '/dev/x',
      hostPath: '/nonexistent',
      type: 'b',
      major: 8,
      minor: 1,
      permissions: 'r',
    }).injectDevices({}, ['vendor.com/d=d']);
    expect(spec.linux?.devices).toEqual([{ path: '/dev/x', type: 'b', major: 8, minor: 1 }]);
    expect(spec.linux?.resources?.devices).toEqual([{ allow: true, type: 'b', major: 8, minor: 1, access: 'r' }]);
  });

  it('replaces an existing device with the same path; mounts replaced and sorted; hooks appended; gids', () => {
    put(
      'run/s.json',
      JSON.stringify({
        cdiVersion: '0.7.0',
        kind: 'vendor.com/d',
        devices: [
          {
            name: 'd',
            containerEdits: {
              deviceNodes: [{ path: '/dev/x', type: 'c', major: 5, minor: 6 }],
              mounts: [
                { hostPath: '/h/a/b/c', containerPath: '/a/b/c' },
                { hostPath: '/h/new', containerPath: '/x', options: ['ro'] },
                { hostPath: '/h/a', containerPath: '/a' },
              ],
              hooks: [{ hookName: 'createContainer', path: '/bin/hook', args: ['hook', 'x'] }],
              additionalGids: [0, 44, 44, 45],
              intelRdt: { closID: 'c1' },
            },
          },
        ],
      }),
    );
    const reg = new CdiRegistry({
      specDirs: [path.join(tmp, 'run')],
      statDevice: () => ({ type: 'c', major: 5, minor: 6 }),
    });
    const { spec } = reg.injectDevices(
      {
        linux: {
          devices: [
            { path: '/dev/x', type: 'c', major: 1, minor: 1 },
            { path: '/dev/y', type: 'c', major: 2, minor: 2 },
          ],
        },
        mounts: [
          { destination: '/x', source: '/old' },
          { destination: '/proc', type: 'proc', source: 'proc' },
        ],
        hooks: { createContainer: [{ path: '/bin/first' }] },
        process: { user: { uid: 0, gid: 0, additionalGids: [45] } },
      },
      ['vendor.com/d=d'],
    );
    expect(spec.linux?.devices).toEqual([
      { path: '/dev/y', type: 'c', major: 2, minor: 2 },
      { path: '/dev/x', type: 'c', major: 5, minor: 6 },
    ]);
    expect(spec.mounts?.map((m) => m.destination)).toEqual(['/proc', '/x', '/a', '/a/b/c']);
    expect(spec.mounts?.find((m) => m.destination === '/x')).toEqual({
      source: '/h/new',
      destination: '/x',
      options: ['ro'],
    });
    expect(spec.hooks?.createContainer).toEqual([{ path: '/bin/first' }, { path: '/bin/hook', args: ['hook', 'x'] }]);
    expect(spec.process?.user?.additionalGids).toEqual([45, 44]);
    expect(spec.linux?.intelRdt).toEqual({ closID: 'c1' });
  });
});

describe('CDI injection against the HGX H100 fixture', () => {
  it('resolves nvidia.com/pgpu=3 to /dev/vfio/devices/vfio3 with the fixture numbers', () => {
    const root = path.join(tmp, 'host');
    writeHostTree(root, hgxH100());
    put(
      'run/nvidia.com-pgpu.yaml',
      `---\ncdiVersion: 0.5.0\nkind: nvidia.com/pgpu\ndevices:\n` +
        [0, 1, 2, 3]
          .map((n) => `- name: "${n}"\n  containerEdits:\n    deviceNodes:\n    - path: /dev/vfio/devices/vfio${n}\n`)
          .join(''),
    );
    put(
      'run/nvidia.com-nvswitch.yaml',
      `---\ncdiVersion: 0.5.0\nkind: nvidia.com/nvswitch\ndevices:\n- name: "8"\n  containerEdits:\n    deviceNodes:\n    - path: /dev/vfio/devices/vfio8\n`,
    );
    const reg = new CdiRegistry({ specDirs: [path.join(tmp, 'run')], statDevice: fakeDeviceStat(root) });
    const { spec } = reg.injectDevices({}, ['nvidia.com/pgpu=3', 'nvidia.com/nvswitch=8']);
    expect(spec.linux?.devices).toEqual([
      { path: '/dev/vfio/devices/vfio3', type: 'c', major: 509, minor: 3, fileMode: 0o666 },
      { path: '/dev/vfio/devices/vfio8', type: 'c', major: 509, minor: 8, fileMode: 0o666 },
    ]);
    expect(() => reg.injectDevices({}, ['nvidia.com/pgpu=vfio1', 'nvidia.com/gpu=0', 'pgpu0'])).toThrow(
      'unresolvable CDI devices nvidia.com/pgpu=vfio1, nvidia.com/gpu=0, pgpu0 ' +
        '(nvidia.com/pgpu=vfio1: known kinds: nvidia.com/nvswitch, nvidia.com/pgpu; closest in nvidia.com/pgpu: 1, 0, 2) ' +
        '(nvidia.com/gpu=0: known kinds: nvidia.com/nvswitch, nvidia.com/pgpu; no spec defines kind nvidia.com/gpu) ' +
        '(pgpu0: unqualified device "pgpu0", missing vendor; known kinds: nvidia.com/nvswitch, nvidia.com/pgpu)',
    );
  });
});
