/** Demo step (a): `ccgpu check --flavour qemu-nvidia-gpu-snp` on this machine, reported as it is. */
import { checkHost, formatHostCheckReport } from '../host-check/index.js';
import type { DemoStep } from './types.js';

export const hostCheckStep: DemoStep = {
  id: 'host-check',
  title: 'Host readiness: ccgpu check --flavour qemu-nvidia-gpu-snp',
  async run({ out }) {
    out.say('Checks this machine for what a confidential GPU sandbox needs: CPU + kvm_amd with SEV-SNP, /dev/sev,');
    out.say('IOMMU, NVIDIA GPUs/NVSwitches bound to vfio-pci, IOMMUFD, vhost-vsock, QEMU >= 9.1 with sev-snp-guest,');
    out.say('guest kernel/image/firmware. Each failure names the fix.');
    const report = await checkHost({ flavours: ['qemu-nvidia-gpu-snp'] });
    out.show(formatHostCheckReport(report));
    const f = report.flavours[0]!;
    const count = (s: string): number => f.results.filter((r) => r.status === s).length;
    const tally = `${count('ok')} ok, ${count('warn')} warn, ${count('fail')} fail, ${count('skip')} skip`;
    if (report.ok) return { status: 'pass', summary: `this host is ready for qemu-nvidia-gpu-snp (${tally})` };
    out.say(
      'Not ready, as expected on a machine without SEV-SNP hardware and GPUs: the check ran and says what is missing.',
    );
    return { status: 'pass', summary: `NOT READY, as expected without SEV-SNP/GPUs (${tally})` };
  },
};
