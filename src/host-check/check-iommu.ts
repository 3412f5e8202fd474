/** The IOMMU is on: `/sys/kernel/iommu_groups` has groups, or `/sys/class/iommu` lists an IOMMU. */
import { result, type CheckContext, type CheckResult } from './types.js';

export function iommuFix(ctx: CheckContext): string {
  const cpu = ctx.cpu;
  const amd = !('error' in cpu) && cpu.vendor === 'AuthenticAMD';
  const intel = !('error' in cpu) && cpu.vendor === 'GenuineIntel';
  const param = amd
    ? 'amd_iommu=on iommu=pt'
    : intel
      ? 'intel_iommu=on iommu=pt'
      : 'intel_iommu=on (Intel) or amd_iommu=on (AMD) and iommu=pt';
  const bios = amd ? 'AMD-Vi/IOMMU' : intel ? 'VT-d' : 'VT-d / AMD-Vi';
  return `enable ${bios} in the BIOS and add ${param} to the kernel command line (GRUB_CMDLINE_LINUX in /etc/default/grub, then update-grub and reboot)`;
}

export function checkIommu(ctx: CheckContext): CheckResult[] {
  const groups = ctx.host.list('/sys/kernel/iommu_groups') ?? [];
  const units = ctx.host.list('/sys/class/iommu') ?? [];
  if (groups.length > 0 || units.length > 0) {
    const what = [
      groups.length > 0 ? `${groups.length} IOMMU group${groups.length === 1 ? '' : 's'}` : '',
      units.length > 0 ? `IOMMU ${units.join(', ')}` : '',
    ].filter(Boolean);
    return [result('iommu', 'ok', `IOMMU enabled: ${what.join(', ')}`)];
  }
  const detail = '/sys/kernel/iommu_groups is empty and /sys/class/iommu lists nothing: the IOMMU is off';
  if (!ctx.needs.gpus) return [result('iommu', 'skip', `not needed by ${ctx.flavour} (${detail})`)];
  return [result('iommu', 'fail', `${detail}; VFIO passthrough needs it`, iommuFix(ctx))];
}
