/**
 * AMD SEV-SNP host support. Kata decides with `/sys/module/kvm_amd/parameters/sev_snp` = Y (reference §2.1); the fix
 * text also looks at the vendor, `/proc/cpuinfo` flags (sev, sev_es, sev_snp), kvm_amd's `sev` parameter and the
 * `/dev/sev` PSP device QEMU opens for `sev-snp-guest`.
 */
import { isAmd, isVirtualMachine } from './cpuinfo.js';
import { result, type CheckContext, type CheckResult } from './types.js';

const SEV_SNP = '/sys/module/kvm_amd/parameters/sev_snp';
const SEV = '/sys/module/kvm_amd/parameters/sev';
const RELOAD =
  'modprobe -r kvm_amd && modprobe kvm_amd sev=1 sev_es=1 sev_snp=1 (persist with "options kvm_amd sev=1 sev_es=1 sev_snp=1" in /etc/modprobe.d/kvm.conf)';
const BIOS =
  'enable SEV-SNP in the BIOS (SMEE, SEV-SNP support, SNP memory coverage, SEV-ES ASID space limit > 1), keep the IOMMU on (amd_iommu=on), and boot a host kernel with SNP host support (Linux >= 6.11, CONFIG_KVM_AMD_SEV)';

interface SnpState {
  enabled: boolean;
  detail: string;
  fix: string;
}

function snpState(ctx: CheckContext): SnpState {
  const value = ctx.host.read(SEV_SNP);
  if (value?.startsWith('Y')) return { enabled: true, detail: 'sev_snp = Y (SEV-SNP host support is on)', fix: '' };
  const cpu = ctx.cpu;
  if (!('error' in cpu) && !isAmd(cpu)) {
    return {
      enabled: false,
      detail: `SEV-SNP needs an AMD EPYC host; this CPU is ${cpu.vendor || 'unknown'} (${SEV_SNP} ${value === undefined ? 'is absent' : `= ${value}`})`,
      fix: 'run SNP flavours on an AMD EPYC 7003 (Milan) or newer host; on Intel TDX hosts use the -tdx flavours',
    };
  }
  const facts: string[] = [];
  const fixes: string[] = [];
  if (!('error' in cpu)) {
    const flags = ['sev', 'sev_es', 'sev_snp'].filter((f) => cpu.flags.has(f));
    if (!cpu.flags.has('sev_snp')) {
      facts.push(`/proc/cpuinfo has no sev_snp flag${flags.length ? ` (has ${flags.join(', ')})` : ''}`);
      fixes.push(
        isVirtualMachine(cpu) ? 'this host is a virtual machine; SEV-SNP host support needs bare metal' : BIOS,
      );
    }
  }
  if (!ctx.host.exists('/sys/module/kvm_amd')) {
    facts.unshift('kvm_amd is not loaded');
    fixes.push(`modprobe kvm_amd sev=1 sev_es=1 sev_snp=1`);
  } else if (value === undefined) {
    facts.unshift(`${SEV_SNP} does not exist`);
    fixes.push('boot a host kernel whose kvm_amd has SNP support (Linux >= 6.11 with CONFIG_KVM_AMD_SEV)');
  } else {
    const sev = ctx.host.read(SEV);
    facts.unshift(`sev_snp = ${value}${sev !== undefined ? `, sev = ${sev}` : ''}`);
    if (fixes.length === 0) fixes.push(BIOS);
    fixes.push(`${RELOAD}; then check \`dmesg | grep -i sev\` for the reason (SEV firmware >= 1.55, IOMMU)`);
  }
  return { enabled: false, detail: facts.join('; '), fix: [...new Set(fixes)].join('; ') };
}

export function checkSnp(ctx: CheckContext): CheckResult[] {
  const s = snpState(ctx);
  if (ctx.needs.tee !== 'snp') return [result('snp', 'skip', `not needed by ${ctx.flavour} (${s.detail})`)];
  if (s.enabled) {
    const dev = ctx.host.exists('/dev/sev')
      ? result('sev-device', 'ok', '/dev/sev exists (QEMU talks to the AMD PSP through it)')
      : result(
          'sev-device',
          'fail',
          '/dev/sev does not exist',
          'modprobe ccp; check `dmesg | grep -i ccp` for SEV firmware initialisation errors',
        );
    return [result('snp', 'ok', s.detail), dev];
  }
  return [result('snp', 'fail', `${ctx.flavour} needs SEV-SNP: ${s.detail}`, s.fix)];
}
