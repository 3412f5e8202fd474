import { describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { minimumRequiredVersion, parseSpec, parseSpecText, type CdiSpec } from '../../../cdi/index.js';

/** The sandbox-device-plugin legacy spec (§2.1). */
const PLUGIN_SPEC = `---
cdiVersion: 0.5.0
kind: nvidia.com/pgpu
devices:
- name: "65"
  containerEdits:
    deviceNodes:
    - path: /dev/vfio/vfio
    - path: /dev/vfio/65
`;

function withVersion(v: string): string {
  return PLUGIN_SPEC.replace('cdiVersion: 0.5.0', `cdiVersion: "${v}"`);
}

const NET_SPEC = `{
  "cdiVersion": "1.1.0",
  "kind": "vendor.com/net",
  "devices": [{ "name": "nic0", "containerEdits": { "netDevices": [{ "hostInterfaceName": "eth1", "name": "net0" }] } }]
}`;

describe('CDI versions (check 13)', () => {
  it('accepts the sandbox-device-plugin spec with names "65" at 0.5.0', () => {
    const s = parseSpec(PLUGIN_SPEC, 'p.yaml');
    expect(s.vendor).toBe('nvidia.com');
    expect(s.class).toBe('pgpu');
    expect([...s.devices.keys()]).toEqual(['65']);
    expect(s.spec.devices[0]!.containerEdits.deviceNodes).toEqual([
      { path: '/dev/vfio/vfio' },
      { path: '/dev/vfio/65' },
    ]);
  });

  it('rejects the same spec at 0.3.0: digit names need 0.5.0', () => {
    expect(() => parseSpec(withVersion('0.3.0'), 'p.yaml')).toThrow(
      'invalid CDI Spec: the spec version must be at least v0.5.0',
    );
  });

  it('0.1.0 must be at least 0.3.0; 1.2.0 and not-a-version are invalid; v1.0.0 is fine', () => {
    const plain = PLUGIN_SPEC.replace('name: "65"', 'name: gpu65');
    expect(() => parseSpec(plain.replace('0.5.0', '"0.1.0"'), 'p.yaml')).toThrow(
      'the spec version must be at least v0.3.0',
    );
    expect(() => parseSpec(plain.replace('0.5.0', '"v0.2.0"'), 'p.yaml')).toThrow(
      'the spec version must be at least v0.3.0',
    );
    expect(() => parseSpec(withVersion('1.2.0'), 'p.yaml')).toThrow('invalid version "1.2.0"');
    expect(() => parseSpec(withVersion('not-a-version'), 'p.yaml')).toThrow('invalid version "not-a-version"');
    expect(parseSpec(withVersion('v1.0.0'), 'p.yaml').spec.cdiVersion).toBe('v1.0.0');
    expect(parseSpec(plain.replace('0.5.0', '"0.3.0"'), 'p.yaml').devices.size).toBe(1);
  });

  it('1.1.0 with netDevices: accepted by head, rejected (version and field) under containerd-2.1', () => {
    const head = parseSpec(NET_SPEC, 'n.json', { compat: 'head' });
    expect(head.spec.devices[0]!.containerEdits.netDevices).toEqual([{ hostInterfaceName: 'eth1', name: 'net0' }]);
    // default is containerd-2.1
    expect(() => parseSpec(NET_SPEC, 'n.json')).toThrow('json: unknown field "netDevices"');
    expect(() => parseSpec(NET_SPEC.replace('1.1.0', '1.0.0'), 'n.json', { compat: 'containerd-2.1' })).toThrow(
      'unknown field "netDevices"',
    );
    const noNet = withVersion('1.1.0');
    expect(() => parseSpec(noNet, 'p.yaml', { compat: 'containerd-2.1' })).toThrow('invalid version "1.1.0"');
    expect(parseSpec(noNet, 'p.yaml', { compat: 'head' }).devices.size).toBe(1);
    expect(() => parseSpec(withVersion('v1.1.0'), 'p.yaml', { compat: 'head' })).not.toThrow();
  });

  it('netDevices at 1.0.0 under head must be at least 1.1.0', () => {
    expect(() => parseSpec(NET_SPEC.replace('1.1.0', '1.0.0'), 'n.json', { compat: 'head' })).toThrow(
      'the spec version must be at least v1.1.0',
    );
  });

  it('additionalGids at 0.6.0 must be at least 0.7.0', () => {
    const s = `{"cdiVersion":"0.6.0","kind":"v.com/c","devices":[{"name":"d","containerEdits":{"additionalGids":[5]}}]}`;
    expect(() => parseSpec(s, 's.json')).toThrow('the spec version must be at least v0.7.0');
  });

  it('minimum required version per feature (TestRequiredVersion)', () => {
    const base = (extra: Partial<CdiSpec> = {}, edits: object = { env: ['A=1'] }, name = 'dev'): CdiSpec => ({
      cdiVersion: '1.1.0',
      kind: 'vendor.com/class',
      devices: [{ name, containerEdits: edits }],
      ...extra,
    });
    expect(minimumRequiredVersion(base())).toBe('0.3.0');
    expect(minimumRequiredVersion(base({}, { mounts: [{ hostPath: '/a', containerPath: '/b', type: 'bind' }] }))).toBe(
      '0.4.0',
    );
    expect(minimumRequiredVersion(base({}, { deviceNodes: [{ path: '/dev/x', hostPath: '/dev/x' }] }))).toBe('0.5.0');
    expect(minimumRequiredVersion(base({}, undefined, '0dev'))).toBe('0.5.0');
    expect(minimumRequiredVersion(base({ annotations: { a: 'b' } }))).toBe('0.6.0');
    expect(minimumRequiredVersion(base({ kind: 'vendor.com/class.sub' }))).toBe('0.6.0');
    expect(minimumRequiredVersion(base({}, { intelRdt: { closID: 'c' } }))).toBe('0.7.0');
    expect(minimumRequiredVersion(base({ containerEdits: { additionalGids: [3] } }))).toBe('0.7.0');
    expect(minimumRequiredVersion(base({}, { intelRdt: { schemata: ['L3:0=f'] } }))).toBe('1.1.0');
    expect(minimumRequiredVersion(base({}, { intelRdt: { enableMonitoring: true } }))).toBe('1.1.0');
    expect(minimumRequiredVersion(base({}, { netDevices: [{ hostInterfaceName: 'a', name: 'b' }] }))).toBe('1.1.0');
  });
});

function spec(devices: unknown, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({ cdiVersion: '0.7.0', kind: 'vendor.com/device', devices, ...extra });
}
const ok = { name: 'dev1', containerEdits: { env: ['A=1'] } };

describe('CDI spec validation (check 14, TestNewSpec / container-edits_test.go)', () => {
  it.each([
    ['duplicate dev1', spec([ok, ok]), 'invalid CDI Spec: invalid spec, multiple device "dev1"'],
    [
      'device without edits',
      spec([{ name: 'dev1', containerEdits: {} }]),
      'invalid CDI Spec: failed add device "dev1": invalid device, empty device edits',
    ],
    [
      'device with no containerEdits key',
      spec([{ name: 'dev1' }]),
      'invalid CDI Spec: failed add device "dev1": invalid device, empty device edits',
    ],
    [
      'env FOOBAR',
      spec([{ name: 'dev1', containerEdits: { env: ['FOOBAR'] } }]),
      'invalid CDI Spec: failed add device "dev1": invalid device "dev1": invalid container edits: invalid environment variable "FOOBAR"',
    ],
    [
      'global env =foo',
      spec([ok], { containerEdits: { env: ['=foo'] } }),
      'invalid CDI Spec: invalid container edits: invalid environment variable "=foo"',
    ],
    ['global env ""', spec([ok], { containerEdits: { env: [''] } }), 'invalid environment variable ""'],
    [
      'node type f',
      spec([ok], { containerEdits: { deviceNodes: [{ path: '/dev/x', type: 'f' }] } }),
      'invalid CDI Spec: device "/dev/x": invalid type "f"',
    ],
    [
      'permissions to land',
      spec([ok], { containerEdits: { deviceNodes: [{ path: '/dev/x', permissions: 'to land' }] } }),
      'invalid CDI Spec: device "/dev/x": invalid permissions "to land"',
    ],
    [
      'empty device path',
      spec([ok], { containerEdits: { deviceNodes: [{ type: 'c' }] } }),
      'invalid CDI Spec: invalid (empty) device path',
    ],
    ['devices: []', spec([]), 'invalid CDI Spec: invalid spec, no devices'],
    [
      'kind vendor.com-/device',
      spec([ok], { kind: 'vendor.com-/device' }),
      'invalid CDI Spec: invalid vendor. "vendor.com-", should end with a letter or digit',
    ],
    [
      'class device=',
      spec([ok], { kind: 'vendor.com/device=' }),
      'invalid CDI Spec: invalid class. "device=", should end with a letter or digit',
    ],
    ['missing kind', spec([ok], { kind: undefined }), 'invalid CDI Spec: invalid vendor. empty name'],
    ['version 0.0.0', spec([ok], { cdiVersion: '0.0.0' }), 'invalid CDI Spec: invalid version "0.0.0"'],
    ['missing cdiVersion', spec([ok], { cdiVersion: undefined }), 'invalid CDI Spec: invalid version ""'],
    [
      'mount without host path',
      spec([ok], { containerEdits: { mounts: [{ containerPath: '/b' }] } }),
      'invalid mount, empty host path',
    ],
    [
      'mount without container path',
      spec([ok], { containerEdits: { mounts: [{ hostPath: '/a' }] } }),
      'invalid mount, empty container path',
    ],
    [
      'hook with empty path',
      spec([ok], { containerEdits: { hooks: [{ hookName: 'prestart', path: '' }] } }),
      'invalid hook "prestart" with empty path',
    ],
    [
      'hook with wrong name',
      spec([ok], { containerEdits: { hooks: [{ hookName: 'misCreateContainer', path: '/x' }] } }),
      'invalid hook name "misCreateContainer"',
    ],
    [
      'hook env',
      spec([ok], { containerEdits: { hooks: [{ hookName: 'poststop', path: '/x', env: ['X'] }] } }),
      'invalid hook "poststop": invalid environment variable "X"',
    ],
    ['closID .', spec([ok], { containerEdits: { intelRdt: { closID: '.' } } }), 'invalid CDI Spec: invalid ClosID'],
    ['closID ..', spec([ok], { containerEdits: { intelRdt: { closID: '..' } } }), 'invalid ClosID'],
    ['closID a/b', spec([ok], { containerEdits: { intelRdt: { closID: 'a/b' } } }), 'invalid ClosID'],
    ['closID a\\nb', spec([ok], { containerEdits: { intelRdt: { closID: 'a\nb' } } }), 'invalid ClosID'],
    [
      'bad device name',
      spec([{ name: '-dev', containerEdits: { env: ['A=1'] } }]),
      'invalid CDI Spec: failed add device "-dev": invalid class "-dev", should start with a letter or digit',
    ],
    [
      'none permissions under containerd-2.1',
      spec([ok], { containerEdits: { deviceNodes: [{ path: '/dev/x', permissions: 'none' }] } }),
      'invalid permissions "none"',
    ],
  ])('%s', (_what, text, msg) => {
    expect(() => parseSpec(text, 'bad.json')).toThrow(msg);
  });

  it('names the file after the upstream text', () => {
    expect(() => parseSpec(spec([]), '/etc/cdi/x.json')).toThrow(
      'invalid CDI Spec: invalid spec, no devices (spec "/etc/cdi/x.json")',
    );
  });

  it('accepts closID "/" and "none" permissions (head) and r/w/m subsets', () => {
    expect(parseSpec(spec([ok], { containerEdits: { intelRdt: { closID: '/' } } }), 'x.json').devices.size).toBe(1);
    const none = spec([ok], {
      cdiVersion: '1.1.0',
      containerEdits: { deviceNodes: [{ path: '/dev/x', permissions: 'none' }] },
    });
    expect(parseSpec(none, 'x.json', { compat: 'head' }).devices.size).toBe(1);
    expect(
      parseSpec(spec([ok], { containerEdits: { deviceNodes: [{ path: '/dev/x', permissions: 'mr' }] } }), 'x.json')
        .devices.size,
    ).toBe(1);
  });

  it('net devices: empty and duplicate names (head)', () => {
    const net = (nd: unknown): string =>
      spec([{ name: 'd', containerEdits: { netDevices: nd } }], { cdiVersion: '1.1.0' });
    expect(() => parseSpec(net([{ hostInterfaceName: '', name: 'a' }]), 'x', { compat: 'head' })).toThrow(
      'invalid linux net device, empty HostInterfaceName',
    );
    expect(() => parseSpec(net([{ hostInterfaceName: 'h', name: '' }]), 'x', { compat: 'head' })).toThrow(
      'invalid linux net device, empty Name',
    );
    expect(() =>
      parseSpec(
        net([
          { hostInterfaceName: 'h', name: 'a' },
          { hostInterfaceName: 'h', name: 'b' },
        ]),
        'x',
        { compat: 'head' },
      ),
    ).toThrow('invalid linux net device, duplicate HostInterfaceName "h" with names "b" and "a"');
    expect(() =>
      parseSpec(
        net([
          { hostInterfaceName: 'h', name: 'a' },
          { hostInterfaceName: 'i', name: 'a' },
        ]),
        'x',
        { compat: 'head' },
      ),
    ).toThrow('invalid linux net device, duplicate Name "a" with HostInterfaceName "i" and "h"');
  });
});

describe('CDI strict parsing (TestReadSpec)', () => {
  it('an extra key is a parse error naming the file and the key', () => {
    const text = PLUGIN_SPEC + 'bogus: 1\n';
    expect(() => parseSpec(text, '/run/cdi/p.yaml')).toThrow(
      'failed to parse CDI Spec "/run/cdi/p.yaml": failed to unmarshal CDI Spec: json: unknown field "bogus"',
    );
    const nested = PLUGIN_SPEC.replace('    - path: /dev/vfio/65', '    - path: /dev/vfio/65\n      major2: 3');
    expect(() => parseSpec(nested, 'p.yaml')).toThrow(
      'unknown field "major2" (at devices[0].containerEdits.deviceNodes[1])',
    );
  });

  it('duplicate keys are errors', () => {
    expect(() => parseSpec(PLUGIN_SPEC + 'kind: other.com/x\n', 'p.yaml')).toThrow(
      /failed to unmarshal CDI Spec: .*[Mm]ap keys must be unique/,
    );
  });

  it('wrong types are errors', () => {
    expect(() => parseSpec(PLUGIN_SPEC.replace('name: "65"', 'name: [65]'), 'p.yaml')).toThrow(
      'cannot unmarshal array into devices[0].name of type string',
    );
    expect(() =>
      parseSpec(PLUGIN_SPEC.replace('- path: /dev/vfio/65', '- path: /dev/vfio/65\n      major: -1.5'), 'p.yaml'),
    ).toThrow('of type int64');
    expect(() =>
      parseSpec(PLUGIN_SPEC.replace('- path: /dev/vfio/65', '- path: /dev/vfio/65\n      uid: -1'), 'p.yaml'),
    ).toThrow('cannot unmarshal number -1 into devices[0].containerEdits.deviceNodes[1].uid of type uint32');
  });

  it('YAML scalars as the Go parser reads them: numbers into strings, YAML 1.1 octal, no base-60', () => {
    const s = parseSpec(
      PLUGIN_SPEC.replace('name: "65"', 'name: 65').replace(
        '- path: /dev/vfio/65',
        '- path: /dev/vfio/65\n      fileMode: 0666',
      ),
      'p.yaml',
    );
    expect([...s.devices.keys()]).toEqual(['65']);
    expect(s.spec.devices[0]!.containerEdits.deviceNodes![1]).toEqual({ path: '/dev/vfio/65', fileMode: 0o666 });
    const pci = parseSpec(PLUGIN_SPEC.replace('name: "65"', 'name: 0000:41:00.0'), 'p.yaml');
    expect([...pci.devices.keys()]).toEqual(['0000:41:00.0']);
    const env = parseSpec(PLUGIN_SPEC.replace('    deviceNodes:', '    env: [A=1]\n    deviceNodes:'), 'p.yaml');
    expect(env.spec.devices[0]!.containerEdits.env).toEqual(['A=1']);
    // YAML 1.1 booleans, as go-yaml v2 reads them: an unquoted `n` is false, i.e. the device "false"
    expect([...parseSpec(PLUGIN_SPEC.replace('name: "65"', 'name: n'), 'p.yaml').devices.keys()]).toEqual(['false']);
    // cdiVersion 1.0 is a float in YAML; Go formats it as "1", which is not a valid version
    expect(() => parseSpec(PLUGIN_SPEC.replace('cdiVersion: 0.5.0', 'cdiVersion: 1.0'), 'p.yaml')).toThrow(
      'invalid version "1"',
    );
  });

  it('field names match case-insensitively, as encoding/json does', () => {
    const s = parseSpec(PLUGIN_SPEC.replace('cdiVersion:', 'CDIVersion:').replace('kind:', 'Kind:'), 'p.yaml');
    expect(s.spec.cdiVersion).toBe('0.5.0');
    expect(s.spec.kind).toBe('nvidia.com/pgpu');
  });

  it('unparsable and empty specs', () => {
    expect(() => parseSpec('{ "cdiVersion": ', 'x.json')).toThrow(
      'failed to parse CDI Spec "x.json": failed to unmarshal CDI Spec:',
    );
    expect(() => parseSpec('', 'x.yaml')).toThrow('failed to parse CDI Spec "x.yaml", no Spec data');
    expect(() => parseSpec('---\n', 'x.yaml')).toThrow('no Spec data');
    expect(parseSpecText('')).toBeNull();
  });

  it('JSON and YAML give the same spec', () => {
    const y = parseSpec(PLUGIN_SPEC, 'a.yaml').spec;
    const j = parseSpec(JSON.stringify(YAML.parse(PLUGIN_SPEC)), 'a.json').spec;
    expect(j).toEqual(y);
  });
});

describe('CDI spec writing', () => {
  it('YAML in field order with ---, omitting empty values but keeping uid 0', async () => {
    const { specToYaml } = await import('../../../cdi/index.js');
    const text = specToYaml({
      kind: 'vendor.com/dev',
      cdiVersion: '0.5.0',
      devices: [
        {
          containerEdits: {
            deviceNodes: [{ path: '/dev/x', hostPath: '', major: 0, uid: 0, type: 'c' }],
            env: ['A=1'],
          },
          name: '0',
        },
      ],
    });
    expect(text).toBe(
      '---\ncdiVersion: 0.5.0\nkind: vendor.com/dev\ndevices:\n  - name: "0"\n    containerEdits:\n      env:\n        - A=1\n' +
        '      deviceNodes:\n        - path: /dev/x\n          type: c\n          uid: 0\n',
    );
    expect(parseSpec(text, 'x.yaml').spec.devices[0]!.containerEdits.deviceNodes).toEqual([
      { path: '/dev/x', type: 'c', uid: 0 },
    ]);
  });
});
