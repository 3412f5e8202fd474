/**
 * QEMU 11.1 from the Debian forky chroot (scripts/forky-chroot.sh) parsing a launch plan's command line on a machine
 * without KVM, a TEE or GPUs. Two passes:
 *  1. the line as built: QEMU must fail only because this host has no KVM (every -object, -machine, -cpu, -m, -numa,
 *     ... has been parsed and the confidential-guest objects created by then);
 *  2. a TCG pass (confidential object, kernel_irqchip and KVM-only options removed): every -device up to the first
 *     vfio-pci is realized, and that vfio-pci fails only because its host device does not exist here.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { runCommand, spawnLogged } from '../subprocess/index.js';
import { createInheritableUnixListener } from '../subprocess/unix-listener.js';
import type { LaunchPlan } from '../sandbox/launch-plan.js';

export const FORKY_ROOT = process.env.CCGPU_FORKY_ROOT ?? '/var/lib/ccgpu/forky';

export interface ForkyQemu {
  root: string;
  version: string;
}

/** The forky chroot's QEMU, or why it cannot be used here. */
export function forkyQemu(root = FORKY_ROOT): ForkyQemu | { missing: string } {
  const bin = path.join(root, 'usr/bin/qemu-system-x86_64');
  if (!fs.existsSync(bin))
    return { missing: `no QEMU 11.1 at ${bin} (create it as root with scripts/forky-chroot.sh)` };
  if (process.getuid?.() !== 0) return { missing: `running QEMU in the chroot ${root} needs root` };
  return { root, version: '11.1' };
}

/** The plan's files (kernel, firmware, image, initdata) and device nodes QEMU opens, as placeholders in the chroot. */
export async function prepareQemuChroot(root: string, plan: LaunchPlan): Promise<void> {
  const args = plan.cmdline.args;
  const files = args.filter((_, i) => ['-kernel', '-bios', '-initrd'].includes(args[i - 1] ?? ''));
  for (const d of args.filter((a) => /(^|,)file=/.test(a) && !a.includes('initdata'))) {
    const m = /(?:^|,)file=([^,]+)/.exec(d);
    if (m) files.push(m[1]!);
  }
  for (const f of files) {
    const p = path.join(root, f);
    fs.mkdirSync(path.dirname(p), { recursive: true });
    if (!fs.existsSync(p)) fs.writeFileSync(p, Buffer.alloc(1 << 20));
  }
  for (const a of args) {
    const m = /(\/run\/ccgpu\/[^/,]+)\//.exec(a);
    if (m) fs.mkdirSync(path.join(root, m[1]!), { recursive: true });
  }
  if (plan.initdata) {
    fs.mkdirSync(path.join(root, path.dirname(plan.initdata.imagePath)), { recursive: true });
    fs.writeFileSync(path.join(root, plan.initdata.imagePath), plan.initdata.image);
  }
  // a stand-in for /dev/iommu so the iommufd objects can be created; /dev/kvm is deliberately absent
  const iommu = path.join(root, 'dev/iommu');
  if (!fs.existsSync(iommu)) await runCommand('mknod', [iommu, 'c', '1', '3']);
}

/** The TCG device pass: drop what needs KVM or a TEE. */
export function tcgDevicePass(args: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const v = args[i + 1] ?? '';
    if (a === '-object' && (v.startsWith('sev-snp-guest') || v.includes('"tdx-guest"'))) {
      i++;
      continue;
    }
    if ((a === '-global' && v.startsWith('kvm-')) || (a === '-device' && v.startsWith('vhost-vsock'))) {
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

/** Runs the chroot's QEMU with `args` (fd 3: a QMP listener, fd 4: /dev/null for vhost-vsock) and returns its errors. */
export async function runChrootQemu(root: string, args: string[]): Promise<{ code: number | null; errors: string[] }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ccgpu-demo-qmp-'));
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString().split('\n')) {
        if (l.trim()) lines.push((JSON.parse(l) as { msg: string }).msg);
      }
      cb();
    },
  });
  const listener = await createInheritableUnixListener(path.join(dir, 'qmp.sock'));
  const nullFd = fs.openSync('/dev/null', 'r+');
  try {
    const qemu = spawnLogged('chroot', [root, '/usr/bin/qemu-system-x86_64', ...args], {
      logger: pino({ level: 'info' }, sink),
      name: 'qemu',
      extraFds: [listener.fd, nullFd],
    });
    const closed = new Promise((r) => qemu.child.once('close', r));
    const timer = setTimeout(() => qemu.kill('SIGKILL'), 20_000);
    const status = await qemu.exited;
    clearTimeout(timer);
    await closed; // stdout/stderr drained
    await new Promise((r) => setImmediate(r));
    return { code: status.code, errors: lines.filter((l) => !/warning:/.test(l)) };
  } finally {
    fs.closeSync(nullFd);
    await listener.release().catch(() => undefined);
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

export async function qemuParsesLine(qemu: ForkyQemu, plan: LaunchPlan): Promise<{ ok: boolean; lines: string[] }> {
  await prepareQemuChroot(qemu.root, plan);
  const lines: string[] = [];
  const version = await runCommand('chroot', [qemu.root, '/usr/bin/qemu-system-x86_64', '--version'], {
    allowFailure: true,
  });
  const v = /QEMU emulator version (\S+)/.exec(version.stdout)?.[1];
  if (v) qemu.version = v;

  const first = await runChrootQemu(qemu.root, plan.cmdline.args);
  const kvmOnly =
    first.errors.length > 0 && first.errors.every((l) => /KVM kernel module|failed to initialize kvm/.test(l));
  lines.push(`pass 1 (as built): exit ${first.code}: ${first.errors.join(' | ') || 'no error output'}`);
  lines.push(
    kvmOnly
      ? '  → only KVM is missing: every option and object was accepted'
      : '  → UNEXPECTED: QEMU rejected the line',
  );

  const second = await runChrootQemu(qemu.root, tcgDevicePass(plan.cmdline.args));
  const firstVfio = plan.cmdline.args.find((a) => a.startsWith('vfio-pci,host='));
  const bdf = /host=([^,]+)/.exec(firstVfio ?? '')?.[1] ?? '?';
  const vfioOnly =
    second.errors.length === 1 && second.errors[0]!.includes(`vfio /sys/bus/pci/devices/${bdf}: no such host device`);
  lines.push(`pass 2 (TCG, devices): exit ${second.code}: ${second.errors.join(' | ') || 'no error output'}`);
  lines.push(
    vfioOnly
      ? `  → every device before the first vfio-pci was realized; ${bdf} is missing only because this host has no GPU`
      : '  → UNEXPECTED: a device other than the absent GPU failed',
  );
  return { ok: kvmOnly && vfioOnly, lines };
}
