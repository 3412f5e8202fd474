/**
 * `ccgpu check` against whole fixture hosts (host-fixture.ts: /proc/cpuinfo, kvm module parameters, the HGX H100
 * sysfs tree, device nodes, a fake QEMU answering --version and -object help, the shipped flavours' guest assets).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import {
  checkHost,
  formatHostCheckReport,
  hostCheckReportJson,
  parseCpuInfo,
  parseObjectHelp,
  parseQemuVersion,
  versionAtLeast,
  type CheckResult,
  type FlavourReport,
  type HostCheckReport,
} from '../../../src/host-check/index.js';
import { run as runCheckCli } from '../../../src/cli/commands/check.js';
import { writeFakeHost, type FakeHost } from './host-fixture.js';

const temps: string[] = [];
afterAll(() => {
  for (const d of temps) fs.rmSync(d, { recursive: true, force: true });
});

function fakeHost(host: FakeHost = {}): string {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'ccgpu-hostcheck-'));
  temps.push(root);
  writeFakeHost(root, host);
  return root;
}

async function check(host: FakeHost, flavour: string): Promise<FlavourReport> {
  const report = await checkHost({ root: fakeHost(host), flavours: [flavour as never] });
  expect(report.flavours).toHaveLength(1);
  return report.flavours[0]!;
}

function get(r: FlavourReport, name: string): CheckResult {
  const found = r.results.find((x) => x.check === name);
  if (!found) throw new Error(`no "${name}" result in ${r.results.map((x) => x.check).join(', ')}`);
  return found;
}

const failed = (r: FlavourReport): string[] => r.results.filter((x) => x.status === 'fail').map((x) => x.check);

describe('checkHost on a ready HGX H100 host', () => {
  it('AMD SEV-SNP host: qemu-nvidia-gpu-snp is ready, every check says what it found', async () => {
    const r = await check({}, 'qemu-nvidia-gpu-snp');
    expect(failed(r)).toEqual([]);
    expect(r.ok).toBe(true);
    expect(r.needs).toEqual({ tee: 'snp', gpus: true });
    expect(get(r, 'cpu').detail).toBe('AuthenticAMD AMD EPYC 9654 96-Core Processor: svm, lm, sse4_1');
    expect(get(r, 'kvm-modules')).toMatchObject({ status: 'ok', detail: 'kvm and kvm_amd loaded' });
    expect(get(r, 'snp')).toMatchObject({ status: 'ok', detail: 'sev_snp = Y (SEV-SNP host support is on)' });
    expect(get(r, 'sev-device').status).toBe('ok');
    expect(get(r, 'tdx').status).toBe('skip');
    expect(get(r, 'iommu').detail).toMatch(/^IOMMU enabled: \d+ IOMMU groups, IOMMU ivhd0$/);
    expect(get(r, 'gpus').detail).toBe(
      '8 NVIDIA GPUs bound to vfio-pci: 0000:18:00.0, 0000:2a:00.0, 0000:3a:00.0, 0000:5d:00.0, 0000:9a:00.0, 0000:ab:00.0, 0000:ba:00.0, 0000:db:00.0',
    );
    expect(get(r, 'nvswitches').detail).toBe(
      '4 NVIDIA NVSwitches bound to vfio-pci: 0000:05:00.0, 0000:06:00.0, 0000:07:00.0, 0000:08:00.0',
    );
    expect(get(r, 'iommufd').detail).toBe(
      '/dev/iommu exists; cdevs /dev/vfio/devices/{vfio0,vfio1,vfio2,vfio3,vfio4,vfio5,vfio6,vfio7,vfio8,vfio9,vfio10,vfio11}',
    );
    expect(get(r, 'vhost-vsock').status).toBe('ok');
    expect(get(r, 'qemu').detail).toBe(
      '/opt/ccgpu/bin/qemu-system-x86_64-snp-experimental is QEMU 11.1.2 and supports -object sev-snp-guest',
    );
    for (const asset of ['kernel', 'image', 'firmware']) expect(get(r, asset).status).toBe('ok');
    expect(get(r, 'firmware').detail).toMatch(/^\/opt\/ccgpu\/share\/ovmf\/AMDSEV\.fd \(\d+ bytes\)$/);
  });

  it('Intel TDX host: qemu-nvidia-gpu-tdx is ready; a missing QGS socket is only a warning', async () => {
    const r = await check({ vendor: 'intel' }, 'qemu-nvidia-gpu-tdx');
    expect(failed(r)).toEqual([]);
    expect(r.ok).toBe(true);
    expect(get(r, 'tdx').status).toBe('ok');
    expect(get(r, 'tdx-qgs')).toMatchObject({ status: 'warn' });
    expect(get(r, 'tdx-qgs').detail).toContain('vsock CID 2 port 4050');
    expect(get(r, 'tdx-qgs').fix).toContain('tdx-qgs');
    expect(get(r, 'snp').status).toBe('skip');
    expect(get(r, 'qemu').detail).toContain('supports -object tdx-guest');
    expect(get(r, 'iommu').detail).toContain('IOMMU dmar0');
  });

  it('--all checks the six flavours with their shipped configurations: the TDX ones fail on an AMD host', async () => {
    const report = await checkHost({ root: fakeHost(), all: true });
    const byFlavour = Object.fromEntries(report.flavours.map((f) => [f.flavour, f]));
    expect(Object.keys(byFlavour)).toHaveLength(6);
    expect(byFlavour['qemu-nvidia-gpu-snp']!.ok).toBe(true);
    expect(byFlavour['qemu-nvidia-gpu-tdx']!.ok).toBe(false);
    expect(failed(byFlavour['qemu-nvidia-gpu-tdx']!)).toEqual(['tdx']);
    expect(byFlavour['qemu-nvidia-gpu-tdx']!.results.find((x) => x.check === 'tdx')!.detail).toContain(
      'TDX needs an Intel Xeon host; this CPU is AuthenticAMD',
    );
    for (const f of report.flavours) expect(f.flavourSource).toBe('option');
    expect(report.ok).toBe(false);
  });
});

describe('checkHost names what is missing and how to fix it', () => {
  it('SEV-SNP switched off in kvm_amd (sev_snp = N): the fix reloads kvm_amd and points at the BIOS', async () => {
    const r = await check({ tee: false }, 'qemu-nvidia-gpu-snp');
    expect(failed(r)).toEqual(['snp']);
    const snp = get(r, 'snp');
    expect(snp.detail).toBe(
      'qemu-nvidia-gpu-snp needs SEV-SNP: sev_snp = N, sev = N; /proc/cpuinfo has no sev_snp flag',
    );
    expect(snp.fix).toContain('enable SEV-SNP in the BIOS');
    expect(snp.fix).toContain('modprobe -r kvm_amd && modprobe kvm_amd sev=1 sev_es=1 sev_snp=1');
  });

  it('an SNP flavour on an Intel host says the CPU is the problem', async () => {
    const r = await check({ vendor: 'intel' }, 'qemu-nvidia-gpu-snp');
    expect(get(r, 'snp').status).toBe('fail');
    expect(get(r, 'snp').detail).toContain('SEV-SNP needs an AMD EPYC host; this CPU is GenuineIntel');
    expect(get(r, 'snp').fix).toContain('use the -tdx flavours');
  });

  it('GPUs bound to the nvidia driver: the GPU check fails and each GPU gets the exact rebind commands', async () => {
    const r = await check({ gpus: 'nvidia' }, 'qemu-nvidia-gpu-snp');
    expect(failed(r)).toEqual(['gpus']);
    expect(get(r, 'gpus').detail).toMatch(
      /^none of the 8 NVIDIA GPUs \(0000:18:00\.0, .*\) is usable through vfio-pci$/,
    );
    const gpu0 = get(r, 'gpu 0000:18:00.0');
    expect(gpu0.status).toBe('warn');
    expect(gpu0.detail).toBe('GPU 0000:18:00.0 (10de:2330) is bound to nvidia, not vfio-pci');
    expect(gpu0.fix).toBe(
      'systemctl stop nvidia-persistenced nvidia-fabricmanager; modprobe vfio-pci; ' +
        'echo vfio-pci > /sys/bus/pci/devices/0000:18:00.0/driver_override; ' +
        'echo 0000:18:00.0 > /sys/bus/pci/devices/0000:18:00.0/driver/unbind; ' +
        'echo 0000:18:00.0 > /sys/bus/pci/drivers/vfio-pci/bind',
    );
    expect(r.results.filter((x) => x.check.startsWith('gpu ')).length).toBe(8);
    // the NVSwitches are still on vfio-pci
    expect(get(r, 'nvswitches').status).toBe('ok');
  });

  it('no GPU at all: the GPU flavour fails and suggests the flavour without GPUs; qemu-snp does not care', async () => {
    const root = fakeHost({ gpus: 'none' });
    const report = await checkHost({ root, flavours: ['qemu-nvidia-gpu-snp', 'qemu-snp'] });
    const [gpu, plain] = report.flavours as [FlavourReport, FlavourReport];
    expect(get(gpu, 'gpus')).toMatchObject({ status: 'fail' });
    expect(get(gpu, 'gpus').fix).toContain('use qemu-snp');
    expect(get(gpu, 'iommu').status).toBe('fail');
    expect(get(gpu, 'iommu').fix).toContain('amd_iommu=on iommu=pt');
    expect(get(plain, 'gpus').status).toBe('skip');
    expect(get(plain, 'iommu').status).toBe('skip');
    expect(plain.ok).toBe(true);
  });

  it('no IOMMUFD: confidential GPU flavours fail (no legacy VFIO groups in a TEE), the plain GPU flavour skips it', async () => {
    const root = fakeHost({ iommufd: false });
    const report = await checkHost({ root, flavours: ['qemu-nvidia-gpu-snp', 'qemu-nvidia-gpu'] });
    const [snp, plain] = report.flavours as [FlavourReport, FlavourReport];
    expect(failed(snp)).toEqual(['iommufd']);
    expect(get(snp, 'iommufd').detail).toContain('/dev/iommu does not exist');
    expect(get(snp, 'iommufd').fix).toContain('CONFIG_IOMMUFD');
    expect(get(plain, 'iommufd').status).toBe('skip');
    expect(plain.ok).toBe(true);
  });

  it('QEMU too old for sev-snp-guest, or built without it, or absent', async () => {
    const old = await check({ qemuVersion: '8.2.2' }, 'qemu-nvidia-gpu-snp');
    expect(failed(old)).toEqual(['qemu']);
    expect(get(old, 'qemu').detail).toBe(
      '/opt/ccgpu/bin/qemu-system-x86_64-snp-experimental is QEMU 8.2.2; qemu-nvidia-gpu-snp needs >= 9.1 for -object sev-snp-guest',
    );

    const noSev = await check(
      { qemuVersion: '10.0.2', qemuObjects: ['iommufd', 'memory-backend-memfd'] },
      'qemu-nvidia-gpu-snp',
    );
    expect(failed(noSev)).toEqual(['qemu']);
    expect(get(noSev, 'qemu').detail).toContain('does not list sev-snp-guest: it was built without SEV support');
    expect(get(noSev, 'qemu').fix).toContain('CONFIG_SEV');

    const unlisted = await check({ qemuObjects: null }, 'qemu-nvidia-gpu-snp');
    expect(get(unlisted, 'qemu').status).toBe('warn');
    expect(get(unlisted, 'qemu').detail).toContain('its object types could not be listed');
    expect(unlisted.ok).toBe(true);

    const none = await check({ qemuVersion: null }, 'qemu-nvidia-gpu-snp');
    expect(failed(none)).toEqual(['qemu']);
    expect(get(none, 'qemu').detail).toMatch(
      /qemu-system-x86_64-snp-experimental \(hypervisor\.qemu\.path in .*configuration-qemu-nvidia-gpu-snp\.toml\) does not exist/,
    );
  });

  it('no /dev/kvm and no /dev/vhost-vsock', async () => {
    const r = await check({ kvm: false, vhostVsock: false }, 'qemu-nvidia-gpu-snp');
    expect(failed(r)).toEqual(expect.arrayContaining(['kvm', 'vhost-vsock']));
    expect(get(r, 'kvm').detail).toBe('/dev/kvm does not exist');
    expect(get(r, 'kvm').fix).toContain('modprobe kvm_amd');
    expect(get(r, 'vhost-vsock').fix).toContain('modprobe vhost_vsock');
  });

  it('a missing guest asset names the configuration key and file', async () => {
    const root = fakeHost();
    fs.rmSync(path.join(root, 'opt/ccgpu/share/ovmf/AMDSEV.fd'));
    const r = (await checkHost({ root, flavours: ['qemu-nvidia-gpu-snp'] })).flavours[0]!;
    expect(failed(r)).toEqual(['firmware']);
    expect(get(r, 'firmware').detail).toMatch(
      /^\/opt\/ccgpu\/share\/ovmf\/AMDSEV\.fd \(hypervisor\.qemu\.firmware in .*configuration-qemu-nvidia-gpu-snp\.toml\) does not exist$/,
    );
  });
});

describe('report rendering', () => {
  it('one line per check, fixes only on WARN/FAIL lines, and a tally', async () => {
    const report: HostCheckReport = await checkHost({
      root: fakeHost({ gpus: 'nvidia' }),
      flavours: ['qemu-nvidia-gpu-snp'],
    });
    const text = formatHostCheckReport(report);
    const lines = text.trimEnd().split('\n');
    expect(lines[0]).toMatch(
      /^qemu-nvidia-gpu-snp \(.*configuration-qemu-nvidia-gpu-snp\.toml; flavour from option\)$/,
    );
    expect(lines).toContain('ok   snp: sev_snp = Y (SEV-SNP host support is on)');
    expect(lines.find((l) => l.startsWith('FAIL gpus: '))).toContain(' fix: bind them to vfio-pci');
    expect(lines.filter((l) => l.startsWith('ok ')).every((l) => !l.includes(' fix: '))).toBe(true);
    expect(lines.at(-1)).toMatch(/^qemu-nvidia-gpu-snp: NOT READY \(\d+ ok, 8 warn, 1 fail, 1 skip\)$/);
    const json = JSON.parse(hostCheckReportJson(report)) as HostCheckReport;
    expect(json.ok).toBe(false);
    expect(json.flavours[0]!.results.find((x) => x.check === 'gpus')!.status).toBe('fail');
  });
});

describe('`ccgpu check` command', () => {
  let out = '';
  let err = '';
  afterEach(() => vi.restoreAllMocks());
  function capture(): void {
    out = '';
    err = '';
    vi.spyOn(process.stdout, 'write').mockImplementation((c: string | Uint8Array) => ((out += String(c)), true));
    vi.spyOn(process.stderr, 'write').mockImplementation((c: string | Uint8Array) => ((err += String(c)), true));
  }

  it('exits 0 on a ready host, 1 when a required check fails, 2 on bad usage', async () => {
    const good = fakeHost();
    capture();
    expect(await runCheckCli(['--root', good, '--flavour', 'qemu-nvidia-gpu-snp'])).toBe(0);
    expect(out).toContain('qemu-nvidia-gpu-snp: ready');

    capture();
    expect(await runCheckCli(['--root', good, '--flavour', 'qemu-nvidia-gpu-tdx', '--json'])).toBe(1);
    const report = JSON.parse(out) as HostCheckReport;
    expect(report.flavours[0]!.results.find((x) => x.check === 'tdx')!.status).toBe('fail');

    capture();
    expect(await runCheckCli(['--flavour', 'qemu-nvidia-gpu-sev'])).toBe(2);
    expect(err).toContain('unknown flavour "qemu-nvidia-gpu-sev"');
    capture();
    expect(await runCheckCli(['--all', '--flavour', 'qemu-snp'])).toBe(2);
    expect(err).toContain('use either --all or --flavour');
  });
});

describe('parsers', () => {
  it('QEMU --version and -object help', () => {
    expect(parseQemuVersion('QEMU emulator version 11.1.2 (Debian 1:11.1.2+ds-3)\nCopyright')).toEqual({
      major: 11,
      minor: 1,
      micro: 2,
      text: '11.1.2',
    });
    expect(parseQemuVersion('QEMU emulator version 9.1\n')!.text).toBe('9.1.0');
    expect(parseQemuVersion('not qemu')).toBeUndefined();
    expect(versionAtLeast(parseQemuVersion('QEMU emulator version 10.0.9')!, { major: 10, minor: 1 })).toBe(false);
    expect(versionAtLeast(parseQemuVersion('QEMU emulator version 10.1.0')!, { major: 10, minor: 1 })).toBe(true);
    expect(parseObjectHelp('List of user creatable objects:\n  authz-list\n  sev-snp-guest\n  tdx-guest\n')).toEqual([
      'authz-list',
      'sev-snp-guest',
      'tdx-guest',
    ]);
    expect(parseObjectHelp('qemu: invalid option')).toBeUndefined();
  });

  it('/proc/cpuinfo: the first processor block; a non-x86 file is an error', () => {
    const cpu = parseCpuInfo(
      'processor\t: 0\nvendor_id\t: AuthenticAMD\nmodel name\t: AMD EPYC\nflags\t\t: svm lm sev_snp\n\nprocessor\t: 1\n',
    );
    expect(cpu.vendor).toBe('AuthenticAMD');
    expect([...cpu.flags]).toEqual(['svm', 'lm', 'sev_snp']);
    expect(() => parseCpuInfo('processor : 0\nBogoMIPS : 50\n')).toThrow(/no "flags" line/);
  });
});
