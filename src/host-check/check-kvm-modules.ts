/**
 * Kernel modules as `kata-runtime check` wants them: `kvm`, and `kvm_amd` or `kvm_intel` for this CPU (on bare-metal
 * Intel with `unrestricted_guest = Y`). Read from /sys/module, where built-in modules with parameters appear too.
 */
import { isIntel, isVirtualMachine } from './cpuinfo.js';
import { result, type CheckContext, type CheckResult } from './types.js';

export function checkKvmModules(ctx: CheckContext): CheckResult[] {
  const cpu = ctx.cpu;
  const loaded = (m: string): boolean => ctx.host.exists(`/sys/module/${m}`);
  const vendorModule = 'error' in cpu ? undefined : isIntel(cpu) ? 'kvm_intel' : 'kvm_amd';
  const wanted = ['kvm', ...(vendorModule ? [vendorModule] : [])];
  const missing = wanted.filter((m) => !loaded(m));
  if (missing.length > 0) {
    const anyVendor = vendorModule ?? (loaded('kvm_amd') ? 'kvm_amd' : loaded('kvm_intel') ? 'kvm_intel' : undefined);
    if (!vendorModule && anyVendor && loaded('kvm')) {
      return [result('kvm-modules', 'ok', `kvm and ${anyVendor} are loaded`)];
    }
    return [
      result(
        'kvm-modules',
        'fail',
        `not loaded: ${missing.join(', ')} (no /sys/module/${missing[0]})`,
        `modprobe ${vendorModule ?? 'kvm_amd (AMD) or kvm_intel (Intel)'}; if it refuses to load, enable virtualization in the BIOS`,
      ),
    ];
  }
  if (vendorModule === 'kvm_intel' && !('error' in cpu) && !isVirtualMachine(cpu)) {
    const ug = ctx.host.read('/sys/module/kvm_intel/parameters/unrestricted_guest');
    if (ug !== undefined && !ug.startsWith('Y')) {
      return [
        result(
          'kvm-modules',
          'fail',
          `kvm_intel has unrestricted_guest = ${ug}`,
          'modprobe -r kvm_intel && modprobe kvm_intel unrestricted_guest=1 (persist with "options kvm_intel unrestricted_guest=1" in /etc/modprobe.d/kvm.conf)',
        ),
      ];
    }
  }
  return [result('kvm-modules', 'ok', `${wanted.join(' and ')} loaded`)];
}
