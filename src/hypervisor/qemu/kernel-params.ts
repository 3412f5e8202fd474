/**
 * The guest kernel command line, in Kata 4.1's order (`qemu.kernelParameters()` + `katautils.SetKernelParams`).
 * Parameters are only appended, never de-duplicated: the kernel honours the last occurrence.
 */
import { ConfigError } from '../../errors/index.js';
import type { RuntimeConfig } from '../../config/types.js';

const ARCH_DEFAULTS =
  'tsc=reliable no_timer_check rcupdate.rcu_expedited=1 i8042.direct=1 i8042.dumbkbd=1 i8042.nopnp=1 i8042.noaux=1 noreplace-smp reboot=k cryptomgr.notests net.ifnames=0 pci=lastbus=0';

export interface VerityParams {
  rootHash: string;
  salt: string;
  dataBlocks: number;
  dataBlockSize: number;
  hashBlockSize: number;
}

/** `root_hash=..,salt=..,data_blocks=..,data_block_size=..,hash_block_size=..` (Kata's kernel_verity_params). */
export function parseVerityParams(value: string): VerityParams | undefined {
  if (!value.trim()) return undefined;
  const kv = new Map<string, string>();
  for (const part of value.split(',')) {
    const i = part.indexOf('=');
    if (i <= 0)
      throw new ConfigError(`kernel_verity_params: "${part}" is not key=value`, {
        table: 'hypervisor.qemu',
        key: 'kernel_verity_params',
      });
    kv.set(part.slice(0, i).trim(), part.slice(i + 1).trim());
  }
  const need = (k: string): string => {
    const v = kv.get(k);
    if (!v)
      throw new ConfigError(`kernel_verity_params: missing ${k}`, {
        table: 'hypervisor.qemu',
        key: 'kernel_verity_params',
      });
    return v;
  };
  const num = (k: string): number => {
    const n = Number(need(k));
    if (!Number.isInteger(n) || n <= 0)
      throw new ConfigError(`kernel_verity_params: ${k} must be a positive integer`, {
        table: 'hypervisor.qemu',
        key: 'kernel_verity_params',
      });
    return n;
  };
  const rootHash = need('root_hash');
  if (!/^[0-9a-f]{64}$/i.test(rootHash)) {
    throw new ConfigError('kernel_verity_params: root_hash must be 64 hex digits (sha256)', {
      table: 'hypervisor.qemu',
      key: 'kernel_verity_params',
    });
  }
  return {
    rootHash,
    salt: need('salt'),
    dataBlocks: num('data_blocks'),
    dataBlockSize: num('data_block_size'),
    hashBlockSize: num('hash_block_size'),
  };
}

export interface KernelParamsInput {
  config: RuntimeConfig;
  /** Max vCPUs for `nr_cpus=` (non-confidential only). */
  maxVcpus: number;
  /** ccgpu: how the agent is reached (tells the guest agent which channel to serve). */
  agentTransport: 'vsock' | 'virtio-serial';
}

/** The `-append` string. */
export function buildKernelParams({ config, maxVcpus, agentTransport }: KernelParamsInput): string {
  const h = config.hypervisor;
  const a = config.agent;
  const p: string[] = [ARCH_DEFAULTS];
  if (h.image) {
    const verity = parseVerityParams(h.kernelVerityParams);
    const rootfsType = h.rootfsType || 'ext4';
    if (verity) {
      const sectors = (verity.dataBlockSize / 512) * verity.dataBlocks;
      p.push(
        `dm-mod.create="dm-verity,,,ro,0 ${sectors} verity 1 /dev/vda1 /dev/vda2 ${verity.dataBlockSize} ${verity.hashBlockSize} ${verity.dataBlocks} 0 sha256 ${verity.rootHash} ${verity.salt}"`,
        `root=/dev/dm-0 rootflags=ro rootfstype=${rootfsType}`,
      );
    } else {
      p.push(`root=/dev/vda1 rootflags=ro rootfstype=${rootfsType}`);
    }
  }
  p.push('console=hvc0 console=hvc1');
  p.push(h.enableDebug ? 'debug systemd.show_status=true systemd.log_level=debug' : 'quiet systemd.show_status=false');
  p.push('panic=1');
  if (!h.confidentialGuest && maxVcpus > 0) p.push(`nr_cpus=${maxVcpus}`);
  if (h.disableGuestSelinux) p.push('selinux=0');
  // config-level parameters (katautils.SetKernelParams)
  if (h.image)
    p.push(
      'systemd.unit=kata-containers.target systemd.mask=systemd-networkd.service systemd.mask=systemd-networkd.socket',
    );
  if (h.blockDeviceDriver === 'virtio-scsi') p.push('scsi_mod.scan=none');
  if (a.launchProcessTimeout > 0) p.push(`agent.launch_process_timeout=${a.launchProcessTimeout}`);
  if (a.enableDebug) p.push('agent.log=debug');
  if (a.debugConsoleEnabled) p.push('agent.debug_console agent.debug_console_vport=1026');
  if (a.cdhApiTimeout > 0) p.push(`agent.cdh_api_timeout=${a.cdhApiTimeout}`);
  if (a.visibleCdiDevices) p.push('agent.visible_cdi_devices=true');
  if (agentTransport === 'virtio-serial') p.push('agent.transport=virtio-serial');
  if (h.kernelParams.trim()) p.push(h.kernelParams.trim());
  return p.join(' ');
}
