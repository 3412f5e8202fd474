/**
 * Intel TDX host support. Kata decides with `/sys/module/kvm_intel/parameters/tdx` = Y (reference §2.1); the fix text
 * also looks at the vendor and the `tdx_host_platform` flag. A missing Quote Generation Service socket is a warning:
 * the runtime then points QEMU at vsock CID 2 port 4050 for quotes.
 */
import { isIntel, isVirtualMachine } from './cpuinfo.js';
import { result, type CheckContext, type CheckResult } from './types.js';

const TDX = '/sys/module/kvm_intel/parameters/tdx';
const QGS_SOCKET = '/var/run/tdx-qgs/qgs.socket';
const RELOAD =
  'modprobe -r kvm_intel && modprobe kvm_intel tdx=1 (persist with "options kvm_intel tdx=1" in /etc/modprobe.d/kvm.conf or kvm_intel.tdx=1 on the kernel command line)';
const BIOS =
  'enable TME, TME-MT (multi-key), TDX and the SEAM loader in the BIOS, and boot a host kernel with TDX host support (Linux >= 6.16, CONFIG_INTEL_TDX_HOST, CONFIG_KVM_INTEL_TDX)';

function tdxState(ctx: CheckContext): { enabled: boolean; detail: string; fix: string } {
  const value = ctx.host.read(TDX);
  if (value?.startsWith('Y')) return { enabled: true, detail: 'tdx = Y (TDX host support is on)', fix: '' };
  const cpu = ctx.cpu;
  if (!('error' in cpu) && !isIntel(cpu)) {
    return {
      enabled: false,
      detail: `TDX needs an Intel Xeon host; this CPU is ${cpu.vendor || 'unknown'} (${TDX} ${value === undefined ? 'is absent' : `= ${value}`})`,
      fix: 'run TDX flavours on a 4th/5th-gen Xeon (Sapphire/Emerald Rapids) or newer host with TDX; on AMD SEV-SNP hosts use the -snp flavours',
    };
  }
  const facts: string[] = [];
  const fixes: string[] = [];
  if (!('error' in cpu) && !cpu.flags.has('tdx_host_platform')) {
    facts.push('/proc/cpuinfo has no tdx_host_platform flag');
    fixes.push(isVirtualMachine(cpu) ? 'this host is a virtual machine; TDX host support needs bare metal' : BIOS);
  }
  if (!ctx.host.exists('/sys/module/kvm_intel')) {
    facts.unshift('kvm_intel is not loaded');
    fixes.push('modprobe kvm_intel tdx=1');
  } else if (value === undefined) {
    facts.unshift(`${TDX} does not exist`);
    fixes.push('boot a host kernel whose kvm_intel has TDX support (Linux >= 6.16 with CONFIG_KVM_INTEL_TDX)');
  } else {
    facts.unshift(`tdx = ${value}`);
    if (fixes.length === 0) fixes.push(BIOS);
    fixes.push(`${RELOAD}; then check \`dmesg | grep -i tdx\` for the reason`);
  }
  return { enabled: false, detail: facts.join('; '), fix: [...new Set(fixes)].join('; ') };
}

export function checkTdx(ctx: CheckContext): CheckResult[] {
  const s = tdxState(ctx);
  if (ctx.needs.tee !== 'tdx') return [result('tdx', 'skip', `not needed by ${ctx.flavour} (${s.detail})`)];
  if (!s.enabled) return [result('tdx', 'fail', `${ctx.flavour} needs TDX: ${s.detail}`, s.fix)];
  const qgs = ctx.host.exists(QGS_SOCKET)
    ? result('tdx-qgs', 'ok', `${QGS_SOCKET} exists (quotes via the local Quote Generation Service)`)
    : result(
        'tdx-qgs',
        'warn',
        `${QGS_SOCKET} does not exist: QEMU will ask for quotes on vsock CID 2 port ${ctx.loaded.config.hypervisor.tdxQuoteGenerationServiceSocketPort || 4050}`,
        "install and start Intel DCAP's tdx-qgs (Quote Generation Service) so guests can be attested",
      );
  return [result('tdx', 'ok', s.detail), qgs];
}
