/**
 * `/dev/kvm` opens read-write; on a real character device, also KVM_GET_API_VERSION (must be 12) and KVM_CREATE_VM
 * through the native addon when it is built (like `kata-runtime check`).
 */
import fs from 'node:fs';
import { errorMessage } from '../errors/index.js';
import { result, type CheckContext, type CheckResult } from './types.js';

const KVM_GET_API_VERSION = 0xae00;
const KVM_CREATE_VM = 0xae01;
const KVM_API_VERSION = 12;

interface Ioctl {
  ioctl(fd: number, request: number, buffer?: Uint8Array | null): number;
}

async function loadIoctl(): Promise<Ioctl | undefined> {
  try {
    const native = await import('../../native/index.js');
    return native.nativeAvailable() ? native.loadNative() : undefined;
  } catch {
    return undefined;
  }
}

function moduleFix(ctx: CheckContext): string {
  const cpu = ctx.cpu;
  const mod = 'error' in cpu ? 'kvm_amd or kvm_intel' : cpu.vendor === 'GenuineIntel' ? 'kvm_intel' : 'kvm_amd';
  return `modprobe ${mod} (and enable hardware virtualization in the BIOS)`;
}

export async function checkKvm(ctx: CheckContext): Promise<CheckResult[]> {
  const dev = ctx.host.path('/dev/kvm');
  let st: fs.Stats;
  try {
    st = fs.statSync(dev);
  } catch {
    return [result('kvm', 'fail', '/dev/kvm does not exist', moduleFix(ctx))];
  }
  let fd: number;
  try {
    fd = fs.openSync(dev, fs.constants.O_RDWR);
  } catch (e) {
    return [
      result(
        'kvm',
        'fail',
        `/dev/kvm does not open read-write: ${errorMessage(e)}`,
        'run as root, or add the user running containerd to the group owning /dev/kvm (usually kvm)',
      ),
    ];
  }
  try {
    if (!st.isCharacterDevice())
      return [result('kvm', 'ok', '/dev/kvm opens read-write (not a device node: API not probed)')];
    const n = await loadIoctl();
    if (!n) return [result('kvm', 'ok', '/dev/kvm opens read-write (native addon not built: KVM API not probed)')];
    let api: number;
    try {
      api = n.ioctl(fd, KVM_GET_API_VERSION);
    } catch (e) {
      return [result('kvm', 'fail', `/dev/kvm: KVM_GET_API_VERSION failed: ${errorMessage(e)}`, moduleFix(ctx))];
    }
    if (api !== KVM_API_VERSION) {
      return [
        result(
          'kvm',
          'fail',
          `/dev/kvm reports KVM API version ${api}, expected ${KVM_API_VERSION}`,
          'use a mainline Linux KVM host kernel',
        ),
      ];
    }
    let vmFd: number;
    try {
      vmFd = n.ioctl(fd, KVM_CREATE_VM, null);
    } catch (e) {
      return [
        result(
          'kvm',
          'fail',
          `/dev/kvm opens but KVM_CREATE_VM fails: ${errorMessage(e)}`,
          'check dmesg for kvm errors; another hypervisor may own the virtualization extensions',
        ),
      ];
    }
    fs.closeSync(vmFd);
    return [result('kvm', 'ok', `/dev/kvm opens read-write, KVM API version ${api}, KVM_CREATE_VM works`)];
  } finally {
    fs.closeSync(fd);
  }
}
