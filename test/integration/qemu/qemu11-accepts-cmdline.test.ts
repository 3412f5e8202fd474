/**
 * Acceptance: QEMU >= 10.1 (here 11.1 from a Debian forky chroot, see scripts/forky-chroot.sh) accepts ccgpu's SEV-SNP
 * and TDX command lines. Two passes per line:
 *  1. the line as built: QEMU must fail only because this host has no KVM (every -object, -machine, -cpu, -m, -smp,
 *     -numa, -append... has been parsed and the confidential-guest objects created by then);
 *  2. a TCG device pass (confidential object, kernel_irqchip and KVM-only options removed): every -device up to the
 *     first vfio-pci is realized, and the vfio-pci device fails only because its host device does not exist here.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { hgxH100 } from '../../fixtures/sysfs/host-model.js';
import { cdiDir, cleanupTemps, fixtureHost, initdataAnnotation, plan } from '../../unit/hypervisor/plan-helpers.js';
import type { LaunchPlan } from '../../../src/sandbox/launch-plan.js';
import { FORKY_ROOT as ROOT, prepareQemuChroot, runChrootQemu, tcgDevicePass } from '../../../src/demo/qemu11-parse.js';

const QEMU = path.join(ROOT, 'usr/bin/qemu-system-x86_64');
const have = fs.existsSync(QEMU) && process.getuid?.() === 0;
if (!have) console.warn(`SKIP qemu11 acceptance: no QEMU at ${QEMU} (run scripts/forky-chroot.sh as root)`);
afterAll(cleanupTemps);

const hgxNames = [
  ...Array.from({ length: 8 }, (_, i) => `nvidia.com/pgpu=${i}`),
  ...[8, 9, 10, 11].map((n) => `nvidia.com/nvswitch=${n}`),
];
const hgxCdi = () =>
  cdiDir({
    'nvidia.com/pgpu': Object.fromEntries(Array.from({ length: 8 }, (_, i) => [String(i), i])),
    'nvidia.com/nvswitch': { 8: 8, 9: 9, 10: 10, 11: 11 },
  });
const initdata = {
  'io.katacontainers.config.hypervisor.cc_init_data': initdataAnnotation(
    'version = "0.1.0"\nalgorithm = "sha384"\n[data]\n"policy.rego" = "package agent_policy\\ndefault AllowRequestsFailingPolicy := false\\n"\n',
  ),
};

const cases: Array<[string, () => LaunchPlan]> = [];
for (const tee of ['snp', 'tdx'] as const) {
  const flavour = tee === 'snp' ? 'qemu-nvidia-gpu-snp' : 'qemu-nvidia-gpu-tdx';
  const base = { flavour, protection: tee };
  cases.push([
    `${tee}: 1 GPU`,
    () => plan({ ...base, root: fixtureHost(hgxH100()), cdi: hgxCdi(), podResourceNames: ['nvidia.com/pgpu=0'] }),
  ]);
  cases.push([
    `${tee}: 8 GPUs + 4 NVSwitches`,
    () => plan({ ...base, root: fixtureHost(hgxH100()), cdi: hgxCdi(), podResourceNames: hgxNames }),
  ]);
  cases.push([
    `${tee}: 8 GPUs + 4 NVSwitches + initdata`,
    () =>
      plan({ ...base, root: fixtureHost(hgxH100()), cdi: hgxCdi(), podResourceNames: hgxNames, annotations: initdata }),
  ]);
}

describe.skipIf(!have)('QEMU 11.1 accepts the SNP and TDX command lines', () => {
  for (const [name, make] of cases) {
    it(`${name}: fails only for lack of KVM, devices realize up to the VFIO host device`, async () => {
      const p = make();
      await prepareQemuChroot(ROOT, p);
      const first = await runChrootQemu(ROOT, p.cmdline.args);
      expect(first.code).not.toBe(0);
      expect(first.errors[0]).toMatch(/Could not access KVM kernel module|failed to initialize kvm/);
      expect(first.errors.every((l) => /KVM kernel module|failed to initialize kvm/.test(l))).toBe(true);

      const second = await runChrootQemu(ROOT, tcgDevicePass(p.cmdline.args));
      expect(second.code).not.toBe(0);
      expect(second.errors).toHaveLength(1);
      expect(second.errors[0]).toMatch(
        /-device vfio-pci,host=0000:18:00\.0,.*: vfio \/sys\/bus\/pci\/devices\/0000:18:00\.0: no such host device/,
      );
    }, 60_000);
  }
});
