/** CPU vendor and the flags Kata's check requires: vmx (Intel) or svm (AMD), lm, sse4_1. */
import { isAmd, isIntel, isVirtualMachine } from './cpuinfo.js';
import { result, type CheckContext, type CheckResult } from './types.js';

export function checkCpu(ctx: CheckContext): CheckResult[] {
  const cpu = ctx.cpu;
  if ('error' in cpu) {
    return [
      result('cpu', 'fail', `cannot read /proc/cpuinfo: ${cpu.error}`, 'run ccgpu check on the x86_64 host itself'),
    ];
  }
  const name = `${cpu.vendor || 'unknown vendor'}${cpu.modelName ? ` ${cpu.modelName}` : ''}`;
  if (!isAmd(cpu) && !isIntel(cpu)) {
    return [
      result(
        'cpu',
        'fail',
        `${name}: vendor_id is neither GenuineIntel nor AuthenticAMD`,
        'ccgpu runs on x86_64 Intel (VT-x, TDX) or AMD (AMD-V, SEV-SNP) hosts',
      ),
    ];
  }
  const virt = isAmd(cpu) ? 'svm' : 'vmx';
  const required = [virt, 'lm', 'sse4_1'];
  const missing = required.filter((f) => !cpu.flags.has(f));
  const nested = isVirtualMachine(cpu) ? ' (this host is itself a virtual machine: "hypervisor" flag)' : '';
  if (missing.length === 0) return [result('cpu', 'ok', `${name}: ${required.join(', ')}${nested}`)];
  const fixes: string[] = [];
  if (missing.includes(virt)) {
    fixes.push(
      isVirtualMachine(cpu)
        ? `expose ${virt} to this VM (nested virtualization, e.g. -cpu host), or run on bare metal`
        : `enable ${isAmd(cpu) ? 'AMD-V (SVM)' : 'Intel VT-x'} in the BIOS/firmware setup`,
    );
  }
  if (missing.some((f) => f !== virt)) fixes.push('a 64-bit CPU with SSE4.1 is required');
  return [result('cpu', 'fail', `${name}: /proc/cpuinfo lacks ${missing.join(', ')}${nested}`, fixes.join('; '))];
}
