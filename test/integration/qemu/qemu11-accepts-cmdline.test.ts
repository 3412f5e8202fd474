/**
 * Acceptance: QEMU >= 10.1 (here 11.1 from a Debian forky chroot, see scripts/forky-chroot.sh) accepts ccgpu's SEV-SNP
 * and TDX command lines. Two passes per line:
 *  1. the line as built: QEMU must fail only because this host has no KVM (every -object, -machine, -cpu, -m, -smp,
 *     -numa, -append... has been parsed and the confidential-guest objects created by then);
 *  2. a TCG device pass (confidential object, kernel_irqchip and KVM-only options removed): every -device up to the
 *     first vfio-pci is realized, and the vfio-pci device fails only because its host device does not exist here.
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { hgxH100 } from '../../fixtures/sysfs/host-model.js';
import { cdiDir, cleanupTemps, fixtureHost, initdataAnnotation, plan } from '../../unit/hypervisor/plan-helpers.js';
import type { LaunchPlan } from '../../../src/sandbox/launch-plan.js';

const ROOT = process.env.CCGPU_FORKY_ROOT ?? '/var/lib/ccgpu/forky';
const QEMU = path.join(ROOT, 'usr/bin/qemu-system-x86_64');
const have = fs.existsSync(QEMU) && process.getuid?.() === 0;
if (!have) console.warn(`SKIP qemu11 acceptance: no QEMU at ${QEMU} (run scripts/forky-chroot.sh as root)`);
afterAll(cleanupTemps);

function prepareChroot(p: LaunchPlan): void {
  const files = [...p.cmdline.args.entries()]
    .filter(([i]) => ['-kernel', '-bios'].includes(p.cmdline.args[i - 1] ?? ''))
    .map(([, v]) => v);
  for (const d of p.cmdline.args.filter((a) => a.startsWith('id=image-'))) files.push(/file=([^,]+)/.exec(d)![1]!);
  for (const f of files) {
    fs.mkdirSync(path.join(ROOT, path.dirname(f)), { recursive: true });
    if (!fs.existsSync(path.join(ROOT, f))) fs.writeFileSync(path.join(ROOT, f), Buffer.alloc(1 << 20));
  }
  fs.mkdirSync(path.join(ROOT, 'run/ccgpu/sb'), { recursive: true });
  if (p.initdata) fs.writeFileSync(path.join(ROOT, p.initdata.imagePath), p.initdata.image);
  // stand-in for /dev/iommu so the iommufd objects can be created; /dev/kvm is deliberately absent
  if (!fs.existsSync(path.join(ROOT, 'dev/iommu'))) spawnSyncOk('mknod', [path.join(ROOT, 'dev/iommu'), 'c', '1', '3']);
}

function spawnSyncOk(cmd: string, args: string[]): void {
  const r = spawnSync(cmd, args);
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${r.stderr}`);
}

async function runQemu(args: string[]): Promise<{ code: number | null; errors: string[] }> {
  const sock = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'ccgpu-qmp-')), 'qmp.sock');
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(sock, r));
  const qmpFd = (server as unknown as { _handle: { fd: number } })._handle.fd;
  const nullFd = fs.openSync('/dev/null', 'r+');
  const child = spawn('chroot', [ROOT, '/usr/bin/qemu-system-x86_64', ...args], {
    stdio: ['ignore', 'ignore', 'pipe', qmpFd, nullFd],
  });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  const code = await new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
  clearTimeout(timer);
  fs.closeSync(nullFd);
  server.close();
  return { code, errors: stderr.split('\n').filter((l) => l.trim() && !l.includes('warning:')) };
}

/** The TCG device pass: drop what needs KVM or a TEE. */
function tcgDevicePass(args: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const [a, v] = [args[i]!, args[i + 1] ?? ''];
    if (a === '-object' && (v.startsWith('sev-snp-guest') || v.includes('"tdx-guest"'))) {
      i++;
      continue;
    }
    if (a === '-global' && v.startsWith('kvm-')) {
      i++;
      continue;
    }
    if (a === '-device' && v.startsWith('vhost-vsock')) {
      i++;
      continue;
    }
    if (a === '-cpu') {
      out.push(a, v.replace(/^host\b/, 'max'));
      i++;
      continue;
    }
    if (a === '-machine') {
      out.push(a, v.replace(/accel=kvm(,kernel_irqchip=split)?(,confidential-guest-support=\w+)?/, 'accel=tcg'));
      i++;
      continue;
    }
    out.push(a);
  }
  return out;
}

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
      prepareChroot(p);
      const first = await runQemu(p.cmdline.args);
      expect(first.code).not.toBe(0);
      expect(first.errors[0]).toMatch(/Could not access KVM kernel module|failed to initialize kvm/);
      expect(first.errors.every((l) => /KVM kernel module|failed to initialize kvm/.test(l))).toBe(true);

      const second = await runQemu(tcgDevicePass(p.cmdline.args));
      expect(second.code).not.toBe(0);
      expect(second.errors).toHaveLength(1);
      expect(second.errors[0]).toMatch(
        /-device vfio-pci,host=0000:18:00\.0,.*: vfio \/sys\/bus\/pci\/devices\/0000:18:00\.0: no such host device/,
      );
    }, 60_000);
  }
});
