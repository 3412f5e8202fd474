import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import {
  CdiRegistry,
  formatModelName,
  generateVfioSpecs,
  modelClass,
  parsePciIds,
  parseSpec,
  writeVfioSpecs,
} from '../../../cdi/index.js';
import { fakeDeviceStat } from '../../fixtures/sysfs/fake-device-stat.js';
import {
  H100_NVSWITCH,
  H100_SXM5,
  VFIO_GROUP_MAJOR,
  hgxH100,
  writeHostTree,
  type HostModel,
} from '../../fixtures/sysfs/host-model.js';

let tmp: string;
beforeEach(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cdi-gen-'));
});
afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** Unmodified fixture hosts are written once (writing a tree is slow) and only read by the tests. */
let shared: string;
const sharedHosts = new Map<string, string>();
beforeAll(() => {
  shared = fs.mkdtempSync(path.join(os.tmpdir(), 'cdi-gen-shared-'));
});
afterAll(() => fs.rmSync(shared, { recursive: true, force: true }));
function sharedHost(key: string, model: () => HostModel): string {
  let root = sharedHosts.get(key);
  if (!root) {
    root = path.join(shared, key);
    writeHostTree(root, model());
    sharedHosts.set(key, root);
  }
  return root;
}
const hgx = (): string => sharedHost('hgx-iommufd', () => hgxH100());
const check17 = (): string => sharedHost('check17', () => check17Model());

const PCI_IDS = `# test pci.ids
1000  Broadcom / LSI
\tc030  PEX890xx PCIe Gen 5 Switch
10de  NVIDIA Corporation
\t2330  GH100 [H100 SXM5 80GB]
\t\t10de 16c1  H100 SXM5 80GB
\t22a3  GH100 [H100 NVSwitch]
\t2342  GH100 [GH200 120GB / 480GB]
\t2bad  3D [weird]
10df  Emulex Corporation
\t2330  Not an NVIDIA device
`;

function host(model: HostModel): string {
  const root = path.join(tmp, 'host');
  writeHostTree(root, model);
  return root;
}

/** The check-17 tree: a vfio GPU in group 65, a vfio NVSwitch in group 12, an nvidia-bound GPU. */
function check17Model(iommufd = false): HostModel {
  return {
    iommufd,
    functions: [
      {
        bdf: '0000:41:00.0',
        ...H100_SXM5,
        numaNode: 0,
        driver: 'vfio-pci',
        iommuGroup: 65,
        vfioCdev: 0,
        upstream: ['0000:40:01.0'],
      },
      {
        bdf: '0000:05:00.0',
        ...H100_NVSWITCH,
        numaNode: 0,
        driver: 'vfio-pci',
        iommuGroup: 12,
        vfioCdev: 1,
        upstream: ['0000:04:01.0'],
      },
      { bdf: '0000:42:00.0', ...H100_SXM5, numaNode: 0, driver: 'nvidia', iommuGroup: 66, upstream: ['0000:40:02.0'] },
    ],
  };
}

describe('VFIO spec generator: sysfs discovery (check 17)', () => {
  it('default aliases: nvidia.com/pgpu device 65, nvidia.com/nvswitch device 12, nvidia-bound GPU skipped', () => {
    const root = check17();
    const r = generateVfioSpecs({ root, env: {} });
    expect(r.iommufd).toBe(false);
    expect(r.specs.map((s) => s.spec)).toEqual([
      {
        cdiVersion: '0.5.0',
        kind: 'nvidia.com/nvswitch',
        devices: [
          { name: '12', containerEdits: { deviceNodes: [{ path: '/dev/vfio/vfio' }, { path: '/dev/vfio/12' }] } },
        ],
      },
      {
        cdiVersion: '0.5.0',
        kind: 'nvidia.com/pgpu',
        devices: [
          { name: '65', containerEdits: { deviceNodes: [{ path: '/dev/vfio/vfio' }, { path: '/dev/vfio/65' }] } },
        ],
      },
    ]);
    expect(r.specs.map((s) => s.fileName)).toEqual(['nvidia.com-nvswitch.yaml', 'nvidia.com-pgpu.yaml']);
    expect(r.warnings).toEqual(['0000:42:00.0 skipped: bound to nvidia, not vfio-pci']);
    expect(r.specs[1]!.functions['65']!.map((f) => f.bdf)).toEqual(['0000:41:00.0']);
  });

  it('generated legacy spec → registry → inject nvidia.com/pgpu=65 with the fixture node numbers (checks 16+17)', () => {
    const root = check17();
    const out = path.join(tmp, 'var-run-cdi');
    writeVfioSpecs(generateVfioSpecs({ root, env: {} }), out);
    const reg = new CdiRegistry({ specDirs: [path.join(tmp, 'etc-cdi'), out], statDevice: fakeDeviceStat(root) });
    const { spec } = reg.injectDevices({}, ['nvidia.com/pgpu=65']);
    expect(spec.linux?.devices).toEqual([
      { path: '/dev/vfio/vfio', type: 'c', major: 10, minor: 196, fileMode: 0o666 },
      { path: '/dev/vfio/65', type: 'c', major: VFIO_GROUP_MAJOR, minor: 65, fileMode: 0o666 },
    ]);
    expect(spec.linux?.resources?.devices).toEqual([
      { allow: true, type: 'c', major: 10, minor: 196, access: 'rwm' },
      { allow: true, type: 'c', major: VFIO_GROUP_MAJOR, minor: 65, access: 'rwm' },
    ]);
    expect(() => reg.injectDevices({}, ['nvidia.com/pgpu=99'])).toThrow(
      /^unresolvable CDI devices nvidia.com\/pgpu=99 /,
    );
    expect(() => reg.injectDevices({}, ['nvidia.com/pgpu=66'])).toThrow('closest in nvidia.com/pgpu: 65');
  });

  it('P_GPU_ALIAS="" gives per-model kinds from pci.ids', () => {
    const root = check17();
    const ids = path.join(tmp, 'pci.ids');
    fs.writeFileSync(ids, PCI_IDS);
    const r = generateVfioSpecs({ root, env: { P_GPU_ALIAS: '' }, pciIdsPath: ids });
    expect(r.specs.map((s) => s.kind)).toEqual(['nvidia.com/GH100_H100_SXM5_80GB', 'nvidia.com/nvswitch']);
    expect(r.specs[0]!.fileName).toBe('nvidia.com-GH100_H100_SXM5_80GB.yaml');
    const both = generateVfioSpecs({ root, env: { P_GPU_ALIAS: '', NVSWITCH_ALIAS: '' }, pciIdsPath: ids });
    expect(both.specs.map((s) => s.kind)).toEqual([
      'nvidia.com/GH100_H100_NVSWITCH',
      'nvidia.com/GH100_H100_SXM5_80GB',
    ]);
  });

  it('non-empty aliases rename the kinds; invalid aliases are one clear error', () => {
    const root = check17();
    const r = generateVfioSpecs({ root, env: { P_GPU_ALIAS: 'h100', NVSWITCH_ALIAS: 'sw' } });
    expect(r.specs.map((s) => s.kind)).toEqual(['nvidia.com/h100', 'nvidia.com/sw']);
    expect(() => generateVfioSpecs({ root, env: { P_GPU_ALIAS: '1gpu' } })).toThrow(
      'invalid P_GPU_ALIAS "1gpu": it must be a valid CDI class: invalid class. "1gpu", should start with letter',
    );
    expect(() => generateVfioSpecs({ root, env: { P_GPU_ALIAS: 'x', NVSWITCH_ALIAS: 'x' } })).toThrow(
      'GPUs and NVSwitches would share the CDI kind nvidia.com/x',
    );
  });

  it('model name formatting', () => {
    expect(formatModelName('GH100 [H100 SXM5 80GB]')).toBe('GH100_H100_SXM5_80GB');
    expect(formatModelName('GH100 [H100L 94GB]')).toBe('GH100_H100L_94GB');
    expect(formatModelName('GH100 [H100 NVSwitch]')).toBe('GH100_H100_NVSWITCH');
    expect(formatModelName('GH100 [GH200 120GB / 480GB]')).toBe('GH100_GH200_120GB___480GB');
    expect(formatModelName('GA100 [A800-SXM4-80GB]')).toBe('GA100_A800-SXM4-80GB');
    expect(formatModelName('AD102GL [L40S] v1.0')).toBe('AD102GL_L40S_V1_0');
  });

  it('names that are not valid classes fall back to a valid class (upstream used the bare hex ID)', () => {
    expect(modelClass('', '10de', '2bff', 'GPU')).toBe('GPU_10DE_2BFF');
    expect(modelClass('3D [weird]', '0x10de', '0x2bad', 'GPU')).toBe('GPU_10DE_2BAD');
    expect(modelClass('GH100 [H100 NVSwitch]', '10de', '22a3', 'NVSWITCH')).toBe('GH100_H100_NVSWITCH');
  });

  it('unknown model with P_GPU_ALIAS="" → GPU_10DE_<id>, valid and written', () => {
    const model = check17Model();
    model.functions[0]!.device = '0x2bad';
    const root = host(model);
    const ids = path.join(tmp, 'pci.ids');
    fs.writeFileSync(ids, PCI_IDS);
    const r = generateVfioSpecs({ root, env: { P_GPU_ALIAS: '' }, pciIdsPath: ids });
    expect(r.specs.map((s) => s.kind)).toContain('nvidia.com/GPU_10DE_2BAD');
    const written = writeVfioSpecs(r, path.join(tmp, 'out'));
    expect(written.map((p) => path.basename(p))).toContain('nvidia.com-GPU_10DE_2BAD.yaml');
  });

  it('parses pci.ids: only the vendor block, no subsystem lines', () => {
    const names = parsePciIds(PCI_IDS, '10de');
    expect(names.get('2330')).toBe('GH100 [H100 SXM5 80GB]');
    expect(names.get('2342')).toBe('GH100 [GH200 120GB / 480GB]');
    expect(names.size).toBe(4);
    expect(parsePciIds(PCI_IDS, '10df').get('2330')).toBe('Not an NVIDIA device');
  });

  const debianIds = '/usr/share/misc/pci.ids';
  const haveDebianIds = fs.existsSync(debianIds);
  if (!haveDebianIds)
    console.warn(`skipping the Debian pci.ids test: ${debianIds} is missing (apt-get install pci.ids)`);
  it.skipIf(!haveDebianIds)('uses the installed Debian pci.ids, with the embedded table for devices it lacks', () => {
    const root = hgx();
    const r = generateVfioSpecs({ root, env: { P_GPU_ALIAS: '', NVSWITCH_ALIAS: '' }, pciIdsPath: debianIds });
    const expected = formatModelName(
      parsePciIds(fs.readFileSync(debianIds, 'utf8'), '10de').get('2330') ?? 'GH100 [H100 SXM5 80GB]',
    );
    const kinds = r.specs.map((s) => s.kind);
    expect(kinds).toContain(`nvidia.com/${expected}`);
    // 22a3 is missing from older pci.ids (e.g. bookworm's): then the embedded table names it
    const sw = parsePciIds(fs.readFileSync(debianIds, 'utf8'), '10de').get('22a3') ?? 'GH100 [H100 NVSwitch]';
    expect(kinds).toContain(`nvidia.com/${formatModelName(sw)}`);
  });
});

describe('VFIO spec generator on an HGX H100 host', () => {
  it('iommufd: 8 pgpu devices 0-7 and 4 nvswitch devices 8-11, one cdev node each', () => {
    const root = hgx();
    const r = generateVfioSpecs({ root, env: {} });
    expect(r.iommufd).toBe(true);
    expect(r.warnings).toEqual([]);
    const [nvswitch, pgpu] = r.specs;
    expect(pgpu!.kind).toBe('nvidia.com/pgpu');
    expect(pgpu!.spec.devices.map((d) => d.name)).toEqual(['0', '1', '2', '3', '4', '5', '6', '7']);
    expect(pgpu!.spec.devices[3]).toEqual({
      name: '3',
      containerEdits: { deviceNodes: [{ path: '/dev/vfio/devices/vfio3' }] },
    });
    expect(pgpu!.functions['3']!.map((f) => f.bdf)).toEqual(['0000:5d:00.0']);
    expect(nvswitch!.kind).toBe('nvidia.com/nvswitch');
    expect(nvswitch!.spec.devices.map((d) => d.name)).toEqual(['8', '9', '10', '11']);
    expect(nvswitch!.spec.devices.map((d) => d.containerEdits.deviceNodes)).toEqual(
      [8, 9, 10, 11].map((n) => [{ path: `/dev/vfio/devices/vfio${n}` }]),
    );
  });

  it('legacy groups: names are IOMMU groups sorted numerically, with /dev/vfio/vfio; bridges in groups change nothing', () => {
    for (const bridgesInGroups of [false, true]) {
      const root = path.join(tmp, `legacy-${bridgesInGroups}`);
      writeHostTree(root, hgxH100({ iommufd: false, bridgesInGroups }));
      const r = generateVfioSpecs({ root, env: {} });
      expect(r.iommufd).toBe(false);
      const pgpu = r.specs.find((s) => s.kind === 'nvidia.com/pgpu')!;
      expect(pgpu.spec.devices.map((d) => d.name)).toEqual(['20', '22', '24', '26', '28', '30', '32', '34']);
      expect(pgpu.spec.devices[0]!.containerEdits.deviceNodes).toEqual([
        { path: '/dev/vfio/vfio' },
        { path: '/dev/vfio/20' },
      ]);
      const nvs = r.specs.find((s) => s.kind === 'nvidia.com/nvswitch')!;
      expect(nvs.spec.devices.map((d) => d.name)).toEqual(['10', '11', '12', '13']);
    }
  });

  it('two GPUs in one IOMMU group become one device holding both (upstream wrote a duplicate name)', () => {
    const model = hgxH100({ iommufd: false });
    model.functions[1]!.iommuGroup = 20; // GPU 1 joins GPU 0's group
    const root = host(model);
    const r = generateVfioSpecs({ root, env: {} });
    const pgpu = r.specs.find((s) => s.kind === 'nvidia.com/pgpu')!;
    expect(pgpu.spec.devices.map((d) => d.name)).toEqual(['20', '24', '26', '28', '30', '32', '34']);
    expect(pgpu.functions['20']!.map((f) => f.bdf)).toEqual(['0000:18:00.0', '0000:2a:00.0']);
    expect(r.warnings).toEqual([
      '0000:18:00.0, 0000:2a:00.0 share IOMMU group 20: they are one CDI device and are always assigned together',
    ]);

    const iommufdModel = hgxH100();
    iommufdModel.functions[1]!.iommuGroup = 20;
    const r2 = generateVfioSpecs({ root: host2(iommufdModel), env: {} });
    const p2 = r2.specs.find((s) => s.kind === 'nvidia.com/pgpu')!;
    expect(p2.spec.devices[0]).toEqual({
      name: '0',
      containerEdits: { deviceNodes: [{ path: '/dev/vfio/devices/vfio0' }, { path: '/dev/vfio/devices/vfio1' }] },
    });
    expect(p2.spec.devices.map((d) => d.name)).toEqual(['0', '2', '3', '4', '5', '6', '7']);
  });

  it('writes YAML with a leading ---, atomically, that the registry loads and injects', () => {
    const root = hgx();
    const out = path.join(tmp, 'run-cdi');
    const written = writeVfioSpecs(generateVfioSpecs({ root, env: {} }), out);
    expect(written).toEqual([path.join(out, 'nvidia.com-nvswitch.yaml'), path.join(out, 'nvidia.com-pgpu.yaml')]);
    expect(fs.readdirSync(out).sort()).toEqual(['nvidia.com-nvswitch.yaml', 'nvidia.com-pgpu.yaml']);
    const text = fs.readFileSync(written[1]!, 'utf8');
    expect(text.startsWith('---\ncdiVersion: 0.5.0\nkind: nvidia.com/pgpu\ndevices:\n')).toBe(true);
    expect(YAML.parse(text).devices[0]).toEqual({
      name: '0',
      containerEdits: { deviceNodes: [{ path: '/dev/vfio/devices/vfio0' }] },
    });
    expect(parseSpec(text, written[1]!).devices.size).toBe(8);

    const reg = new CdiRegistry({ specDirs: ['/nonexistent-etc-cdi', out], statDevice: fakeDeviceStat(root) });
    expect(reg.getErrors().size).toBe(0);
    expect(reg.listDevices()).toHaveLength(12);
    const { spec } = reg.injectDevices({}, ['nvidia.com/pgpu=7', 'nvidia.com/nvswitch=11']);
    expect(spec.linux?.devices?.map((d) => [d.path, d.major, d.minor])).toEqual([
      ['/dev/vfio/devices/vfio7', 509, 7],
      ['/dev/vfio/devices/vfio11', 509, 11],
    ]);
    expect(spec.linux?.resources?.devices).toHaveLength(2);
  });

  it('a broken spec gives one clear error and creates nothing on disk', () => {
    const root = hgx();
    const r = generateVfioSpecs({ root, env: {} });
    r.specs[1]!.spec.devices.push({ ...r.specs[1]!.spec.devices[0]! }); // duplicate "0"
    const out = path.join(tmp, 'out');
    expect(() => writeVfioSpecs(r, out)).toThrow(
      `refusing to write CDI spec "${path.join(out, 'nvidia.com-pgpu.yaml')}": invalid CDI Spec: invalid spec, multiple device "0"`,
    );
    expect(fs.existsSync(out)).toBe(false);
  });

  it('an IOMMUFD host where a function has no cdev skips it with a warning', () => {
    const model = hgxH100();
    delete model.functions[2]!.vfioCdev;
    const r = generateVfioSpecs({ root: host(model), env: {} });
    expect(r.specs.find((s) => s.kind === 'nvidia.com/pgpu')!.spec.devices.map((d) => d.name)).toEqual([
      '0',
      '1',
      '3',
      '4',
      '5',
      '6',
      '7',
    ]);
    expect(r.warnings).toEqual(['0000:3a:00.0 skipped: IOMMUFD host but the function has no vfio-dev/vfioN cdev']);
  });

  it('no sysfs is a clear error', () => {
    expect(() => generateVfioSpecs({ root: path.join(tmp, 'nothing'), env: {} })).toThrow(
      `cannot list PCI devices in "${path.join(tmp, 'nothing/sys/bus/pci/devices')}"`,
    );
  });
});

function host2(model: HostModel): string {
  const root = path.join(tmp, 'host2');
  writeHostTree(root, model);
  return root;
}
