/** kata-gpu-tee.md candidate acceptance checks 1-5, 7-9, 11-18, 20 against the launch plan and command line. */
import { createHash } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { deviceIdPrefixFor } from '../../../src/sandbox/launch-plan.js';
import { chooseProtection } from '../../../src/sandbox/host-facts.js';
import { hgxH100, VFIO_CDEV_MAJOR, type HostModel } from '../../fixtures/sysfs/host-model.js';
import {
  cdiDir,
  cleanupTemps,
  fixtureHost,
  flavourConfig,
  initdataAnnotation,
  plan,
  SANDBOX,
  values,
} from './plan-helpers.js';

afterAll(cleanupTemps);
const H = deviceIdPrefixFor(SANDBOX);

const singleGpuHost: HostModel = {
  iommufd: true,
  snp: true,
  functions: [
    {
      bdf: '0000:41:00.0',
      vendor: '0x10de',
      device: '0x2331',
      class: '0x030200',
      numaNode: 0,
      driver: 'vfio-pci',
      iommuGroup: 65,
      vfioCdev: 0,
      upstream: ['0000:40:01.0'],
    },
  ],
};

describe('SNP machine, CPU, memory, SMP (check 1)', () => {
  const { args } = plan().cmdline;
  it('has the confidential machine and EPYC-v4 CPU', () => {
    expect(values(args, '-machine')).toEqual(['q35,accel=kvm,kernel_irqchip=split,confidential-guest-support=snp']);
    expect(values(args, '-cpu')).toEqual(['EPYC-v4,pmu=off']);
  });
  it('memory without hotplug, RAM backend on a NUMA node', () => {
    expect(values(args, '-m')).toEqual(['8192M']);
    expect(values(args, '-object')).toContain('memory-backend-ram,id=dimm1,size=8192M');
    expect(values(args, '-numa')).toEqual(['node,memdev=dimm1']);
  });
  it('smp without maxcpus/sockets, and -smp is last', () => {
    expect(values(args, '-smp')).toEqual(['1,cores=1,threads=1']);
    expect(args.at(-2)).toBe('-smp');
    expect(values(args, '-bios')).toEqual(['/opt/ccgpu/share/ovmf/AMDSEV.fd']);
  });
  it('no nvdimm, rng, balloon or vhost-user-fs', () => {
    const joined = args.join(' ');
    for (const s of ['nvdimm', 'virtio-rng', 'virtio-balloon', 'vhost-user-fs']) expect(joined).not.toContain(s);
  });
});

describe('SNP object (checks 2, 3)', () => {
  it('default policy', () => {
    expect(values(plan().cmdline.args, '-object')).toContain(
      'sev-snp-guest,id=snp,cbitpos=51,reduced-phys-bits=1,kernel-hashes=on,policy=196608',
    );
  });
  it('without snp_guest_policy the object ends at kernel-hashes=on', () => {
    const args = plan({ edit: (c) => (c.hypervisor.snpGuestPolicy = undefined) }).cmdline.args;
    expect(values(args, '-object')).toContain('sev-snp-guest,id=snp,cbitpos=51,reduced-phys-bits=1,kernel-hashes=on');
  });
  it('id-block without id-auth is refused; both go before policy', () => {
    expect(() => plan({ edit: (c) => (c.hypervisor.snpIdBlock = 'AAAA') })).toThrow(/IDBlock without (SNP )?IDAuth/);
    const idBlock = Buffer.alloc(96, 1).toString('base64');
    const idAuth = Buffer.alloc(4096, 2).toString('base64');
    const args = plan({ edit: (c) => ((c.hypervisor.snpIdBlock = idBlock), (c.hypervisor.snpIdAuth = idAuth)) }).cmdline
      .args;
    expect(values(args, '-object')).toContain(
      `sev-snp-guest,id=snp,cbitpos=51,reduced-phys-bits=1,kernel-hashes=on,id-block=${idBlock},id-auth=${idAuth},policy=196608`,
    );
  });
});

describe('TDX object and QGS (check 4)', () => {
  const tdx = (o: Parameters<typeof plan>[0] = {}) =>
    plan({ flavour: 'qemu-nvidia-gpu-tdx', protection: 'tdx', ...o }).cmdline.args;
  it('vsock fallback without the QGS socket', () => {
    const args = tdx();
    expect(values(args, '-object')).toContain(
      '{"qom-type":"tdx-guest","id":"tdx","quote-generation-socket":{"type":"vsock","cid":"2","port":"4050"}}',
    );
    expect(values(args, '-machine')).toEqual(['q35,accel=kvm,kernel_irqchip=split,confidential-guest-support=tdx']);
    expect(values(args, '-cpu')).toEqual(['host,pmu=off']);
    expect(values(args, '-bios')).toEqual(['/opt/ccgpu/share/ovmf/OVMF.inteltdx.fd']);
  });
  it('unix socket when present; explicit port', () => {
    expect(values(tdx({ qgs: true }), '-object')).toContain(
      '{"qom-type":"tdx-guest","id":"tdx","quote-generation-socket":{"type":"unix","path":"/var/run/tdx-qgs/qgs.socket"}}',
    );
    expect(
      values(tdx({ edit: (c) => (c.hypervisor.tdxQuoteGenerationServiceSocketPort = 4051) }), '-object').join(),
    ).toContain('"port":"4051"');
  });
});

describe('initdata (check 5)', () => {
  const toml = 'version = "0.1.0"\nalgorithm = "sha384"\n[data]\n';
  const annotations = { 'io.katacontainers.config.hypervisor.cc_init_data': initdataAnnotation(toml) };
  const sha384 = createHash('sha384').update(toml).digest();
  it('SNP host-data is the first 32 bytes of the digest', () => {
    const p = plan({ annotations });
    expect(values(p.cmdline.args, '-object')).toContain(
      `sev-snp-guest,id=snp,cbitpos=51,reduced-phys-bits=1,kernel-hashes=on,policy=196608,host-data=${sha384.subarray(0, 32).toString('base64')}`,
    );
    expect(p.cmdline.warnings.join()).toMatch(/48 bytes; host-data takes 32 \(truncated\)/);
  });
  it('TDX mrconfigid is the 48-byte digest; sha256 is zero-padded', () => {
    const p = plan({ flavour: 'qemu-nvidia-gpu-tdx', protection: 'tdx', annotations });
    expect(values(p.cmdline.args, '-object').join()).toContain(`"mrconfigid":"${sha384.toString('base64')}"`);
    const t256 = toml.replace('sha384', 'sha256');
    const p256 = plan({
      flavour: 'qemu-nvidia-gpu-tdx',
      protection: 'tdx',
      annotations: { 'io.katacontainers.config.hypervisor.cc_init_data': initdataAnnotation(t256) },
    });
    const padded = Buffer.concat([createHash('sha256').update(t256).digest(), Buffer.alloc(16)]);
    expect(values(p256.cmdline.args, '-object').join()).toContain(`"mrconfigid":"${padded.toString('base64')}"`);
  });
  it('the image: magic, LE length, gzip, 512-byte padding; attached as virtio-blk', () => {
    const p = plan({ annotations });
    const img = p.initdata!.image;
    expect(img.subarray(0, 8).toString()).toBe('initdata');
    const len = Number(img.readBigUInt64LE(8));
    expect(img[16]).toBe(0x1f);
    expect(img[17]).toBe(0x8b);
    expect(len).toBeGreaterThan(0);
    expect(img.length % 512).toBe(0);
    expect(p.cmdline.args).toContain(
      'virtio-blk-pci,disable-modern=false,drive=initdata,config-wce=off,serial=initdata',
    );
    expect(p.cmdline.args).toContain(
      `id=initdata,file=/run/ccgpu/${SANDBOX}/initdata.img,aio=threads,format=raw,if=none`,
    );
  });
  it('an unknown algorithm is an error, not a crash', () => {
    const bad = {
      'io.katacontainers.config.hypervisor.cc_init_data': initdataAnnotation(toml.replace('sha384', 'md5')),
    };
    expect(() => plan({ annotations: bad })).toThrow(/algorithm/);
  });
});

describe('cold plug (checks 7, 8, 9, 10, 11, 15)', () => {
  it('single GPU via PodResources names: root port, iommufd object, vfio-pci in order (check 7)', () => {
    const root = fixtureHost(singleGpuHost);
    const p = plan({ root, cdi: cdiDir({ 'nvidia.com/pgpu': { '0': 0 } }), podResourceNames: ['nvidia.com/pgpu=0'] });
    const a = p.cmdline.args;
    const rp = a.indexOf('pcie-root-port,id=rp0,bus=pcie.0,chassis=0,slot=0,multifunction=off');
    const obj = a.indexOf(`iommufd,id=iommufdvfio-${H}0`);
    const dev = a.indexOf(
      `vfio-pci,host=0000:41:00.0,id=vfio-${H}0,x-pci-vendor-id=0x10de,x-pci-device-id=0x2331,bus=rp0,iommufd=iommufdvfio-${H}0`,
    );
    expect(rp).toBeGreaterThan(0);
    expect(obj).toBeGreaterThan(rp);
    expect(dev).toBe(obj + 2);
    expect(a.filter((x) => /^pcie-root-port,id=rp\d/.test(x))).toHaveLength(1);
  });

  it('GPU + NVSwitch: two root ports, both devices, each with its iommufd (check 8)', () => {
    const root = fixtureHost(hgxH100({ snp: true }));
    const p = plan({
      root,
      cdi: cdiDir({ 'nvidia.com/pgpu': { '0': 0 }, 'nvidia.com/nvswitch': { '8': 8 } }),
      podResourceNames: ['nvidia.com/pgpu=0', 'nvidia.com/nvswitch=8'],
    });
    const devs = values(p.cmdline.args, '-device').filter((d) => d.startsWith('vfio-pci'));
    expect(devs).toEqual([
      `vfio-pci,host=0000:18:00.0,id=vfio-${H}0,x-pci-vendor-id=0x10de,x-pci-device-id=0x2330,bus=rp0,iommufd=iommufdvfio-${H}0`,
      `vfio-pci,host=0000:05:00.0,id=vfio-${H}8,x-pci-vendor-id=0x10de,x-pci-device-id=0x22a3,bus=rp1,iommufd=iommufdvfio-${H}8`,
    ]);
    expect(values(p.cmdline.args, '-object').filter((o) => o.startsWith('iommufd'))).toHaveLength(2);
  });

  it('8 GPUs + 4 NVSwitches on an HGX host: 12 root ports', () => {
    const root = fixtureHost(hgxH100({ snp: true }));
    const names = [
      ...Array.from({ length: 8 }, (_, i) => `nvidia.com/pgpu=${i}`),
      ...[8, 9, 10, 11].map((n) => `nvidia.com/nvswitch=${n}`),
    ];
    const p = plan({
      root,
      cdi: cdiDir({
        'nvidia.com/pgpu': Object.fromEntries(Array.from({ length: 8 }, (_, i) => [String(i), i])),
        'nvidia.com/nvswitch': { 8: 8, 9: 9, 10: 10, 11: 11 },
      }),
      podResourceNames: names,
    });
    expect(
      values(p.cmdline.args, '-device').filter(
        (d) => d.startsWith('pcie-root-port,id=rp') && !d.includes('pci-bridge'),
      ),
    ).toHaveLength(12);
    expect(p.topology.devices.map((d) => d.fn.bdf)).toEqual([
      '0000:18:00.0',
      '0000:2a:00.0',
      '0000:3a:00.0',
      '0000:5d:00.0',
      '0000:9a:00.0',
      '0000:ab:00.0',
      '0000:ba:00.0',
      '0000:db:00.0',
      '0000:05:00.0',
      '0000:06:00.0',
      '0000:07:00.0',
      '0000:08:00.0',
    ]);
  });

  it('legacy group is refused for a confidential guest; accepted by nvidia-gpu with 8 ports (check 9)', () => {
    const model: HostModel = {
      iommufd: false,
      functions: [
        {
          bdf: '0000:40:01.0',
          vendor: '0x8086',
          device: '0x1',
          class: '0x060400',
          numaNode: 0,
          driver: 'pcieport',
          iommuGroup: 66,
          upstream: [],
        },
        {
          bdf: '0000:41:00.0',
          vendor: '0x10de',
          device: '0x2331',
          class: '0x030200',
          numaNode: 0,
          driver: 'vfio-pci',
          iommuGroup: 66,
          upstream: ['0000:40:01.0'],
        },
      ],
    };
    const root = fixtureHost(model);
    const cdi = cdiDir({ 'nvidia.com/pgpu': { '0': '66' } });
    expect(() => plan({ root, cdi, podResourceNames: ['nvidia.com/pgpu=0'] })).toThrow(
      'ConfidentialGuest needs IOMMUFD - cannot use /dev/vfio/66',
    );
    const p = plan({
      flavour: 'qemu-nvidia-gpu',
      protection: 'none',
      root,
      cdi,
      podResourceNames: ['nvidia.com/pgpu=0'],
    });
    expect(
      values(p.cmdline.args, '-device')
        .filter((d) => /^pcie-root-port,id=rp\d/.test(d))
        .map((d) => d.split(',')[1]),
    ).toEqual(Array.from({ length: 8 }, (_, i) => `id=rp${i}`));
    expect(values(p.cmdline.args, '-device')).toContain(
      `vfio-pci,host=0000:41:00.0,id=vfio-${H}1,x-pci-vendor-id=0x10de,x-pci-device-id=0x2331,bus=rp0`,
    );
  });

  it('pcie_root_port = 20 is clamped to 16 with a warning (check 10)', () => {
    const loaded = flavourConfig('qemu-nvidia-gpu');
    expect(loaded.config.hypervisor.pcieRootPort).toBe(8);
  });

  it('switch-port mode (check 11)', () => {
    const root = fixtureHost(hgxH100({ snp: true }));
    const p = plan({
      root,
      edit: (c) => (c.hypervisor.coldPlugVfio = 'switch-port'),
      cdi: cdiDir({ 'nvidia.com/pgpu': { '0': 0, '1': 1 } }),
      podResourceNames: ['nvidia.com/pgpu=0', 'nvidia.com/pgpu=1'],
    });
    const d = values(p.cmdline.args, '-device');
    expect(d).toEqual(
      expect.arrayContaining([
        'pcie-root-port,id=swrp0,bus=pcie.0,chassis=1,slot=0,multifunction=off',
        'x3130-upstream,id=swup0,bus=swrp0',
        'xio3130-downstream,id=swdp0,bus=swup0,chassis=2,slot=0',
        'xio3130-downstream,id=swdp1,bus=swup0,chassis=2,slot=1',
      ]),
    );
    expect(d.filter((x) => x.startsWith('vfio-pci')).map((x) => /bus=(\w+)/.exec(x)![1])).toEqual(['swdp0', 'swdp1']);
  });

  it('annotations are used when no PodResources names; no-port consults nothing (check 15)', () => {
    const root = fixtureHost(singleGpuHost);
    const cdi = cdiDir({ 'nvidia.com/pgpu': { '0': 0 } });
    const annotations = { 'cdi.k8s.io/gpu': 'nvidia.com/pgpu=0' };
    const p = plan({ root, cdi, annotations });
    expect(p.coldPlugged).toEqual(['nvidia.com/pgpu=0']);
    expect(p.spec.annotations).toEqual({});
    expect(values(p.cmdline.args, '-device').some((d) => d.startsWith('vfio-pci'))).toBe(true);
    const none = plan({ root, cdi, annotations, edit: (c) => (c.hypervisor.coldPlugVfio = 'no-port') });
    expect(none.coldPlugged).toEqual([]);
    expect(none.cmdline.args.join(' ')).not.toContain('vfio-pci');
  });

  it('an unresolvable name fails with the upstream text and hints', () => {
    const root = fixtureHost(singleGpuHost);
    expect(() =>
      plan({ root, cdi: cdiDir({ 'nvidia.com/pgpu': { '0': 0 } }), podResourceNames: ['nvidia.com/pgpu=vfio1'] }),
    ).toThrow(
      /device cold plug failed: cold plug: CDI device injection failed: unresolvable CDI devices nvidia.com\/pgpu=vfio1/,
    );
  });
});

describe('BAR hints, kernel command line, placement (checks 12, 13, 20)', () => {
  const root = () => fixtureHost(singleGpuHost);
  const gpuPlan = () =>
    plan({ root: root(), cdi: cdiDir({ 'nvidia.com/pgpu': { '0': 0 } }), podResourceNames: ['nvidia.com/pgpu=0'] });

  it('no mem-reserve on VFIO ports, no fw_cfg or pci-hole64 (check 12)', () => {
    const a = gpuPlan().cmdline.args;
    for (const d of values(a, '-device').filter((x) => /^pcie-root-port,id=rp\d/.test(x))) {
      expect(d).not.toMatch(/mem-reserve|pref64-reserve/);
    }
    expect(a).not.toContain('-fw_cfg');
    expect(a.join(' ')).not.toContain('pci-hole64');
    expect(values(a, '-append')[0]).toContain('pci=realloc pci=nocrs pci=assign-busses nvrc.smi.srs=1');
  });

  it('kernel command line in Kata order (check 13)', () => {
    const a = plan().cmdline.args;
    expect(values(a, '-append')).toEqual([
      'tsc=reliable no_timer_check rcupdate.rcu_expedited=1 i8042.direct=1 i8042.dumbkbd=1 i8042.nopnp=1 i8042.noaux=1 noreplace-smp reboot=k cryptomgr.notests net.ifnames=0 pci=lastbus=0 root=/dev/vda1 rootflags=ro rootfstype=erofs console=hvc0 console=hvc1 quiet systemd.show_status=false panic=1 selinux=0 systemd.unit=kata-containers.target systemd.mask=systemd-networkd.service systemd.mask=systemd-networkd.socket scsi_mod.scan=none agent.launch_process_timeout=15 cgroup_no_v1=all pci=realloc pci=nocrs pci=assign-busses nvrc.smi.srs=1',
    ]);
    expect(
      values(a, '-drive').some(
        (d) => d.endsWith('readonly=on') && d.includes('kata-containers-nvidia-gpu-confidential.img'),
      ),
    ).toBe(true);
  });

  it('virtio devices before root ports; vsock after VFIO on pcie.0; bridge port at addr=2 (check 20)', () => {
    const a = gpuPlan().cmdline.args;
    const firstRp = a.findIndex((x) => /^pcie-root-port,id=rp\d/.test(x));
    const vfio = a.findIndex((x) => x.startsWith('vfio-pci'));
    const vsock = a.findIndex((x) => x.startsWith('vhost-vsock-pci'));
    a.forEach((x, i) => {
      if (/^virtio-/.test(x)) expect(i).toBeLessThan(firstRp);
    });
    expect(vsock).toBeGreaterThan(vfio);
    expect(a[vsock]).toMatch(/bus=pcie\.0$/);
    expect(a.find((x) => x.startsWith('pcie-root-port,id=rp-pci-bridge-0'))).toContain(',addr=2,');
  });
});

describe('debug monitor (check 16) and protection detection (check 17)', () => {
  it('extra_monitor_socket only with enable_debug, with a warning', () => {
    const off = plan({
      flavour: 'qemu-nvidia-gpu',
      protection: 'none',
      edit: (c) => (c.hypervisor.extraMonitorSocket = 'hmp'),
    });
    expect(values(off.cmdline.args, '-qmp')).toEqual(['unix:fd=3,server=on,wait=off']);
    expect(off.cmdline.args).not.toContain('-monitor');
    const on = plan({
      flavour: 'qemu-nvidia-gpu',
      protection: 'none',
      edit: (c) => ((c.hypervisor.extraMonitorSocket = 'hmp'), (c.hypervisor.enableDebug = true)),
    });
    expect(values(on.cmdline.args, '-monitor')).toEqual([
      `unix:path=/run/ccgpu/${SANDBOX}/extra-monitor.sock,server=on,wait=off`,
    ]);
    expect(on.cmdline.warnings).toContain('QEMU configured to start with an untrusted monitor');
  });
  it('refused on a confidential guest unless explicitly allowed', () => {
    const edit = (c: Parameters<NonNullable<Parameters<typeof plan>[0]>['edit'] & object>[0]) => (
      (c.hypervisor.extraMonitorSocket = 'qmp'),
      (c.hypervisor.enableDebug = true)
    );
    expect(() => plan({ edit })).toThrow(/allow_debug_monitor_on_confidential_guest/);
    const ok = plan({ edit: (c) => (edit(c), (c.hypervisor.allowDebugMonitorOnConfidentialGuest = true)) });
    expect(values(ok.cmdline.args, '-qmp')).toContain(
      `unix:path=/run/ccgpu/${SANDBOX}/extra-monitor.sock,server=on,wait=off`,
    );
  });
  it('no TEE on the host: a clear error; SNP host with sev_snp_guest=false gives SEV', () => {
    const none = fixtureHost({ iommufd: true, functions: [], snp: false, tdx: false });
    const cfg = flavourConfig('qemu-nvidia-gpu-snp').config;
    expect(() => chooseProtection(cfg, { sysfs: `${none}/sys` })).toThrow(
      "This system doesn't support Confidential Computing (Guest Protection)",
    );
    const snpHost = fixtureHost({ iommufd: true, functions: [], snp: true });
    const sevCfg = structuredClone(cfg);
    sevCfg.hypervisor.sevSnpGuest = false;
    const choice = chooseProtection(sevCfg, { sysfs: `${snpHost}/sys` });
    expect(choice.protection).toBe('sev');
    const a = plan({ protection: 'sev', edit: (c) => (c.hypervisor.sevSnpGuest = false) }).cmdline.args;
    expect(values(a, '-object')).toContain('sev-guest,id=sev,cbitpos=51,reduced-phys-bits=1');
    expect(values(a, '-drive')).toContain('if=pflash,format=raw,readonly=on,file=/opt/ccgpu/share/ovmf/AMDSEV.fd');
    expect(values(a, '-machine')[0]).toContain('confidential-guest-support=sev');
    expect(values(a, '-cpu')).toEqual(['host,pmu=off']);
    expect(a).not.toContain('-bios');
  });
});

describe('static sizing (check 18)', () => {
  it('48 GiB and 16 CPUs of workload on top of the defaults', () => {
    const a = plan({
      annotations: {
        'io.kubernetes.cri.sandbox-cpu-quota': '1600000',
        'io.kubernetes.cri.sandbox-cpu-period': '100000',
        'io.kubernetes.cri.sandbox-memory': '51539607552',
      },
    }).cmdline.args;
    expect(values(a, '-m')).toEqual(['57344M']);
    expect(values(a, '-smp')).toEqual(['17,cores=1,threads=1']);
  });
});

describe('CDI names through the OCI spec', () => {
  it('devices already in linux.devices (workload spec) are resolved through /sys/dev/char', () => {
    const root = fixtureHost(singleGpuHost);
    const p = plan({
      root,
      linuxDevices: [{ path: '/dev/vfio/devices/vfio0', type: 'c', major: VFIO_CDEV_MAJOR, minor: 0 }],
    });
    expect(p.vfioNodes.map((n) => n.hostPath)).toEqual(['/dev/vfio/devices/vfio0']);
  });
});
