/**
 * A whole host for `ccgpu check` tests: /proc/cpuinfo, kvm modules and parameters, device nodes (regular files
 * standing in), the HGX sysfs tree from test/fixtures/sysfs, a fake QEMU script and the guest assets every shipped
 * flavour's configuration names, all under one root.
 */
import fs from 'node:fs';
import path from 'node:path';
import { FLAVOURS, loadConfigFile, shippedConfigPath } from '../../../src/config/index.js';
import { hgxH100, writeHostTree } from '../../fixtures/sysfs/host-model.js';

export interface FakeHost {
  vendor?: 'amd' | 'intel';
  /** kvm_amd sev_snp (AMD) / kvm_intel tdx (Intel) parameter; default true. */
  tee?: boolean;
  /** HGX GPUs + NVSwitches: bound to vfio-pci (default), to nvidia, or absent. */
  gpus?: 'vfio-pci' | 'nvidia' | 'none';
  iommufd?: boolean;
  /** Printed by the fake QEMU's --version; null: no QEMU binaries at all. */
  qemuVersion?: string | null;
  /**
   * Listed by the fake QEMU's `-object help`. Default: what a full build of that version has (sev-snp-guest from 9.1,
   * tdx-guest from 10.1); null: `-object help` fails.
   */
  qemuObjects?: string[] | null;
  vhostVsock?: boolean;
  kvm?: boolean;
}

const AMD_FLAGS =
  'fpu vme de pse tsc msr pae mce cx8 apic sep mtrr pge mca cmov pat pse36 clflush mmx fxsr sse sse2 ht syscall nx mmxext fxsr_opt pdpe1gb rdtscp lm constant_tsc rep_good nopl nonstop_tsc cpuid extd_apicid aperfmperf rapl pni pclmulqdq monitor ssse3 fma cx16 pcid sse4_1 sse4_2 x2apic movbe popcnt aes xsave avx f16c rdrand lahf_lm cmp_legacy svm extapic cr8_legacy abm sse4a misalignsse 3dnowprefetch osvw ibs skinit wdt tce topoext perfctr_core perfctr_nb bpext perfctr_llc mwaitx cpb cat_l3 cdp_l3 hw_pstate ssbd mba perfmon_v2 ibrs ibpb stibp ibrs_enhanced vmmcall fsgsbase bmi1 avx2 smep bmi2 erms invpcid cqm rdt_a avx512f avx512dq rdseed adx smap avx512ifma clflushopt clwb avx512cd sha_ni avx512bw avx512vl xsaveopt xsavec xgetbv1 xsaves cqm_llc cqm_occup_llc cqm_mbm_total cqm_mbm_local avx512_bf16 clzero irperf xsaveerptr rdpru wbnoinvd amd_ppin cppc arat npt lbrv svm_lock nrip_save tsc_scale vmcb_clean flushbyasid decodeassists pausefilter pfthreshold avic v_vmsave_vmload vgif x2avic v_spec_ctrl vnmi avx512vbmi umip pku ospke avx512_vbmi2 gfni vaes vpclmulqdq avx512_vnni avx512_bitalg avx512_vpopcntdq la57 rdpid overflow_recov succor smca fsrm flush_l1d debug_swap';
const INTEL_FLAGS =
  'fpu vme de pse tsc msr pae mce cx8 apic sep mtrr pge mca cmov pat pse36 clflush dts acpi mmx fxsr sse sse2 ss ht tm pbe syscall nx pdpe1gb rdtscp lm constant_tsc art arch_perfmon pebs bts rep_good nopl xtopology nonstop_tsc cpuid aperfmperf tsc_known_freq pni pclmulqdq dtes64 monitor ds_cpl vmx smx est tm2 ssse3 sdbg fma cx16 xtpr pdcm pcid dca sse4_1 sse4_2 x2apic movbe popcnt tsc_deadline_timer aes xsave avx f16c rdrand lahf_lm abm 3dnowprefetch cpuid_fault epb cat_l3 cat_l2 cdp_l3 intel_ppin cdp_l2 ssbd mba ibrs ibpb stibp ibrs_enhanced tpr_shadow flexpriority ept vpid ept_ad fsgsbase tsc_adjust bmi1 avx2 smep bmi2 erms invpcid cqm rdt_a avx512f avx512dq rdseed adx smap avx512ifma clflushopt clwb intel_pt avx512cd sha_ni avx512bw avx512vl xsaveopt xsavec xgetbv1 xsaves cqm_llc cqm_occup_llc cqm_mbm_total cqm_mbm_local split_lock_detect user_shstk avx_vnni avx512_bf16 wbnoinvd dtherm ida arat pln pts hfi vnmi avx512vbmi umip pku ospke waitpkg avx512_vbmi2 gfni vaes vpclmulqdq avx512_vnni avx512_bitalg tme avx512_vpopcntdq la57 rdpid bus_lock_detect cldemote movdiri movdir64b enqcmd fsrm md_clear serialize tsxldtrk pconfig arch_lbr ibt amx_bf16 avx512_fp16 amx_tile amx_int8 flush_l1d arch_capabilities';

function write(file: string, content: string | Buffer = ''): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, content);
}

function cpuinfo(vendor: 'amd' | 'intel', tee: boolean): string {
  const amd = vendor === 'amd';
  const flags = amd
    ? `${AMD_FLAGS}${tee ? ' sme sev sev_es sev_snp' : ''}`
    : `${INTEL_FLAGS}${tee ? ' tdx_host_platform' : ''}`;
  const block = (n: number): string =>
    [
      `processor\t: ${n}`,
      `vendor_id\t: ${amd ? 'AuthenticAMD' : 'GenuineIntel'}`,
      `cpu family\t: ${amd ? 25 : 6}`,
      `model name\t: ${amd ? 'AMD EPYC 9654 96-Core Processor' : 'INTEL(R) XEON(R) PLATINUM 8592+'}`,
      `flags\t\t: ${flags}`,
      '',
    ].join('\n');
  return `${block(0)}\n${block(1)}\n`;
}

/** Every asset path named by any shipped flavour's configuration (QEMU binaries separately). */
function shippedAssets(): { qemu: Set<string>; files: Set<string> } {
  const qemu = new Set<string>();
  const files = new Set<string>();
  for (const f of FLAVOURS) {
    const q = loadConfigFile(shippedConfigPath(f), { noDropIns: true }).config.hypervisor;
    qemu.add(q.path);
    for (const p of [q.kernel, q.image, q.initrd, q.firmware, q.firmwareVolume]) if (p) files.add(p);
  }
  return { qemu, files };
}

/** The confidential-guest object types a full QEMU build of `version` has. */
function objectsOf(version: string): string[] {
  const [major = 0, minor = 0] = version.split('.').map(Number);
  const atLeast = (a: number, b: number): boolean => major > a || (major === a && minor >= b);
  return [
    'authz-list',
    'iommufd',
    'memory-backend-file',
    'memory-backend-memfd',
    'sev-guest',
    ...(atLeast(9, 1) ? ['sev-snp-guest'] : []),
    ...(atLeast(10, 1) ? ['tdx-guest'] : []),
    'thread-context',
  ];
}

export function writeFakeHost(root: string, host: FakeHost = {}): void {
  const vendor = host.vendor ?? 'amd';
  const tee = host.tee ?? true;
  const gpus = host.gpus ?? 'vfio-pci';
  const iommufd = host.iommufd ?? true;
  write(path.join(root, 'proc/cpuinfo'), cpuinfo(vendor, tee));
  if (gpus !== 'none') {
    const model = hgxH100({
      iommufd,
      snp: vendor === 'amd' ? tee : undefined,
      tdx: vendor === 'intel' ? tee : undefined,
    });
    if (gpus === 'nvidia') {
      for (const fn of model.functions) {
        if (fn.class === '0x030200') fn.driver = 'nvidia';
      }
    }
    writeHostTree(root, model);
  } else {
    fs.mkdirSync(path.join(root, 'sys/bus/pci/devices'), { recursive: true });
    fs.mkdirSync(path.join(root, 'sys/kernel/iommu_groups'), { recursive: true });
    if (iommufd) write(path.join(root, 'dev/iommu'));
  }
  const sys = path.join(root, 'sys');
  if (gpus !== 'none') write(path.join(sys, 'class/iommu', vendor === 'amd' ? 'ivhd0' : 'dmar0', 'uevent'));
  if (host.kvm ?? true) {
    write(path.join(root, 'dev/kvm'));
    write(path.join(sys, 'module/kvm/parameters/halt_poll_ns'), '200000\n');
  }
  if (vendor === 'amd') {
    write(path.join(sys, 'module/kvm_amd/parameters/sev'), tee ? 'Y\n' : 'N\n');
    write(path.join(sys, 'module/kvm_amd/parameters/sev_es'), tee ? 'Y\n' : 'N\n');
    write(path.join(sys, 'module/kvm_amd/parameters/sev_snp'), tee ? 'Y\n' : 'N\n');
    if (tee) write(path.join(root, 'dev/sev'));
  } else {
    write(path.join(sys, 'module/kvm_intel/parameters/tdx'), tee ? 'Y\n' : 'N\n');
    write(path.join(sys, 'module/kvm_intel/parameters/unrestricted_guest'), 'Y\n');
  }
  if (host.vhostVsock ?? true) write(path.join(root, 'dev/vhost-vsock'));

  const assets = shippedAssets();
  for (const f of assets.files) write(path.join(root, f), `fake ${path.basename(f)}\n`);
  const version = host.qemuVersion === undefined ? '11.1.2' : host.qemuVersion;
  if (version !== null) {
    const objects = host.qemuObjects === undefined ? objectsOf(version) : host.qemuObjects;
    const help =
      objects === null
        ? `echo 'qemu-system-x86_64: -object help: invalid option' >&2; exit 1`
        : `printf '%s\\n' 'List of user creatable objects:' ${objects.map((o) => `'  ${o}'`).join(' ')}; exit 0`;
    for (const q of assets.qemu) {
      const bin = path.join(root, q);
      write(
        bin,
        [
          '#!/bin/sh',
          `if [ "$1" = -object ] && [ "$2" = help ]; then ${help}; fi`,
          `echo 'QEMU emulator version ${version}'`,
          `echo 'Copyright (c) 2003-2025 Fabrice Bellard and the QEMU Project developers'`,
          '',
        ].join('\n'),
      );
      fs.chmodSync(bin, 0o755);
    }
  }
}
