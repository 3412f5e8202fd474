/**
 * The QEMU argument vector for a sandbox, in Kata 4.1's order and with its strings (kata-gpu-tee.md §2), for the
 * nvidia-gpu-snp, nvidia-gpu-tdx, nvidia-gpu, snp, tdx and coco-dev flavours.
 *
 * Pure: everything it needs (host protection, cbitpos, QGS socket presence, fds, paths) comes in `QemuLaunchSpec`, so
 * the same function serves the shim and `ccgpu qemu-cmdline` dry runs.
 */
import { HypervisorError, ConfigError } from '../../errors/index.js';
import type { RuntimeConfig } from '../../config/types.js';
import type { PcieTopology } from '../../devices/pcie-topology.js';
import type { GuestProtection } from './guest-protection.js';
import { buildKernelParams } from './kernel-params.js';

export const TDX_QGS_SOCKET = '/var/run/tdx-qgs/qgs.socket';
export const SNP_HOST_DATA_BYTES = 32;
export const TDX_MRCONFIGID_BYTES = 48;

export interface SandboxPaths {
  /** `/run/ccgpu/<id>` */
  runDir: string;
  consoleSocket: string;
  pidFile: string;
  extraMonitorSocket: string;
  /** Host end of the virtio-serial agent channel (agent_transport = virtio-serial). */
  agentSocket: string;
  /** virtiofsd's vhost-user socket (shared_fs = "virtio-fs"). */
  virtiofsSocket: string;
}

export function sandboxPaths(runDir: string): SandboxPaths {
  return {
    runDir,
    consoleSocket: `${runDir}/console.sock`,
    pidFile: `${runDir}/pid`,
    extraMonitorSocket: `${runDir}/extra-monitor.sock`,
    agentSocket: `${runDir}/agent.sock`,
    virtiofsSocket: `${runDir}/vhost-fs.sock`,
  };
}

export interface QemuLaunchSpec {
  sandboxId: string;
  uuid: string;
  config: RuntimeConfig;
  protection: GuestProtection;
  /** C-bit position (SNP/SEV). */
  cbitpos: number;
  /** vCPUs and memory at boot; `maxVcpus` bounds hotplug for non-confidential guests (`nr_cpus=`, `maxcpus=`). */
  sizing: { vcpus: number; maxVcpus: number; memoryMiB: number };
  /** Host RAM in MiB, for non-confidential `maxmem=`. */
  hostMemoryMiB: number;
  topology: PcieTopology;
  paths: SandboxPaths;
  /** The QMP listener is passed to QEMU as this fd (Kata: 3). */
  qmpFd: number;
  /** vhost-vsock: the /dev/vhost-vsock fd as QEMU sees it, and the guest CID. */
  vsock?: { vhostFd: number; cid: number };
  initdata?: { imagePath: string; digest: Uint8Array };
  /** Whether `/var/run/tdx-qgs/qgs.socket` exists (TDX, port 0). */
  tdxQgsSocketPresent: boolean;
  /** 16 hex digits naming this sandbox's block devices. */
  deviceIdPrefix: string;
  /** Host directory shared with the guest when `shared_fs = "virtio-9p"` (mount tag `kataShared`). */
  sharedDir?: string;
}

export const SHARED_FS_MOUNT_TAG = 'kataShared';

export interface QemuCommandLine {
  binary: string;
  args: string[];
  /** Warnings for the log (e.g. the untrusted monitor). */
  warnings: string[];
}

/** Zero-pads or truncates a digest to `len` bytes (Kata does this silently; ccgpu reports it in `warnings`). */
export function fitDigest(digest: Uint8Array, len: number): Buffer {
  const out = Buffer.alloc(len);
  Buffer.from(digest).copy(out, 0, 0, Math.min(len, digest.length));
  return out;
}

function kv(driver: string, props: Array<[string, string | number | boolean | undefined]>): string {
  const parts = [driver];
  for (const [k, v] of props) {
    if (v === undefined) continue;
    parts.push(typeof v === 'boolean' ? `${k}=${v ? 'on' : 'off'}` : `${k}=${v}`);
  }
  return parts.join(',');
}

export function buildQemuCommandLine(spec: QemuLaunchSpec): QemuCommandLine {
  const { config, protection, paths } = spec;
  const h = config.hypervisor;
  const warnings: string[] = [];
  const args: string[] = [];
  const add = (...a: string[]): void => {
    args.push(...a);
  };
  const cc = h.confidentialGuest;
  const tcg = h.accel === 'tcg';
  if (cc && tcg) {
    throw new ConfigError('a confidential guest cannot run under TCG: set accel = "kvm"', {
      table: 'hypervisor.qemu',
      key: 'accel',
    });
  }
  if (cc && protection === 'none') {
    throw new HypervisorError("This system doesn't support Confidential Computing (Guest Protection)");
  }
  if ((h.snpIdBlock === '') !== (h.snpIdAuth === '') && protection === 'snp') {
    throw new ConfigError(
      h.snpIdBlock
        ? 'specifying SNP IDBlock without SNP IDAuth is not allowed'
        : 'specifying SNP IDAuth without SNP IDBlock is not allowed',
      { table: 'hypervisor.qemu', key: h.snpIdBlock ? 'snp_id_auth' : 'snp_id_block' },
    );
  }

  // 1-2. name, uuid
  add('-name', `sandbox-${spec.sandboxId}${h.enableDebug ? ',debug-threads=on' : ''}`);
  add('-uuid', spec.uuid);

  // 3. machine
  const machine = [h.machineType || 'q35', `accel=${tcg ? 'tcg' : 'kvm'}`];
  if ((cc || h.enableIommu) && !tcg) machine.push('kernel_irqchip=split');
  if (protection !== 'none') machine.push(`confidential-guest-support=${protection}`);
  if (h.machineAccelerators) machine.push(h.machineAccelerators.replace(/^,/, ''));
  add('-machine', machine.join(','));

  // 4. cpu
  const model = protection === 'snp' ? 'EPYC-v4' : tcg ? 'max' : 'host';
  add('-cpu', h.cpuFeatures ? `${model},${h.cpuFeatures}` : model);

  // 5. QMP (+ the debug monitor)
  add('-qmp', `unix:fd=${spec.qmpFd},server=on,wait=off`);
  if (h.extraMonitorSocket) {
    if (!h.enableDebug) {
      warnings.push(
        `extra_monitor_socket = "${h.extraMonitorSocket}" ignored: it takes effect only with enable_debug = true`,
      );
    } else if (cc && !h.allowDebugMonitorOnConfidentialGuest) {
      throw new ConfigError(
        `extra_monitor_socket = "${h.extraMonitorSocket}" on a confidential guest would give whoever holds the socket control of the TEE's VMM; set allow_debug_monitor_on_confidential_guest = true to accept an untrusted, debug-only instance`,
        { table: 'hypervisor.qemu', key: 'extra_monitor_socket' },
      );
    } else {
      const flag =
        h.extraMonitorSocket === 'hmp' ? '-monitor' : h.extraMonitorSocket === 'qmp' ? '-qmp' : '-qmp-pretty';
      add(flag, `unix:path=${paths.extraMonitorSocket},server=on,wait=off`);
      warnings.push('QEMU configured to start with an untrusted monitor');
    }
  }

  // 6. memory size
  const mem = spec.sizing.memoryMiB;
  if (cc) add('-m', `${mem}M`);
  else add('-m', `${mem}M,slots=${h.memorySlots},maxmem=${spec.hostMemoryMiB + 1024}M`);

  // 7. devices
  // 7.1 bridges: with firmware on q35 the nested root-port + pcie-pci-bridge form, else the legacy pci-bridge
  for (let i = 0; i < h.defaultBridges; i++) {
    if (h.firmware) {
      add(
        '-device',
        `pcie-root-port,id=rp-pci-bridge-${i},bus=pcie.0,chassis=${16 + i},slot=${i},addr=${2 + i},multifunction=off,bus-reserve=0x1,pref64-reserve=1m,mem-reserve=1m,io-reserve=4k`,
      );
      add('-device', `pcie-pci-bridge,bus=rp-pci-bridge-${i},id=pci-bridge-${i}`);
    } else {
      add(
        '-device',
        `pci-bridge,bus=pcie.0,id=pci-bridge-${i},chassis_nr=${i + 1},shpc=off,addr=${2 + i},io-reserve=4k,mem-reserve=1m,pref64-reserve=1m`,
      );
    }
  }
  // 7.2 console
  add('-device', 'virtio-serial-pci,disable-modern=false,id=serial0');
  add('-device', 'virtconsole,chardev=charconsole0,id=console0');
  add('-chardev', `socket,id=charconsole0,path=${paths.consoleSocket},server=on,wait=off`);
  if (config.agent.agentTransport === 'virtio-serial') {
    add('-device', 'virtserialport,chardev=charagent0,id=channel0,name=agent.channel.0');
    add('-chardev', `socket,id=charagent0,path=${paths.agentSocket},server=on,wait=off`);
  }
  // 7.3 rootfs image, read-only virtio-blk (no nvdimm)
  if (h.image) {
    const id = `image-${spec.deviceIdPrefix}`;
    add('-device', `virtio-blk-pci,disable-modern=false,drive=${id},config-wce=off,share-rw=on,serial=${id}`);
    add('-drive', `id=${id},file=${h.image},aio=threads,format=raw,if=none,readonly=on`);
  }
  // 7.4 SCSI controller
  if (h.blockDeviceDriver === 'virtio-scsi') add('-device', 'virtio-scsi-pci,id=scsi0,disable-modern=false');
  // shared filesystem: virtio-9p (no daemon); virtio-fs needs virtiofsd and a shared memory backend
  if (h.sharedFs === 'virtio-9p') {
    if (!spec.sharedDir) throw new HypervisorError('shared_fs = "virtio-9p" needs a shared directory');
    add(
      '-device',
      `virtio-9p-pci,disable-modern=false,fsdev=extra-9p-${SHARED_FS_MOUNT_TAG},mount_tag=${SHARED_FS_MOUNT_TAG}`,
    );
    add(
      '-fsdev',
      `local,id=extra-9p-${SHARED_FS_MOUNT_TAG},path=${spec.sharedDir},security_model=none,multidevs=remap`,
    );
  } else if (h.sharedFs === 'virtio-fs') {
    // virtiofsd serves the shared directory over vhost-user; guest RAM must be shareable with it
    add('-chardev', `socket,id=char-${spec.deviceIdPrefix},path=${paths.virtiofsSocket}`);
    add('-device', `vhost-user-fs-pci,chardev=char-${spec.deviceIdPrefix},tag=${SHARED_FS_MOUNT_TAG},queue-size=1024`);
  }
  // non-confidential guests get an entropy device (skipped for CC, as Kata does)
  if (!cc) {
    add('-object', `rng-random,id=rng0,filename=${h.entropySource || '/dev/urandom'}`);
    add('-device', 'virtio-rng-pci,rng=rng0');
  }
  // 7.5 initdata disk
  if (spec.initdata) {
    add('-device', 'virtio-blk-pci,disable-modern=false,drive=initdata,config-wce=off,serial=initdata');
    add('-drive', `id=initdata,file=${spec.initdata.imagePath},aio=threads,format=raw,if=none`);
  }
  // 7.6 protection object
  if (protection === 'snp') {
    const props: Array<[string, string | number | undefined]> = [
      ['id', 'snp'],
      ['cbitpos', spec.cbitpos],
      ['reduced-phys-bits', 1],
      ['kernel-hashes', 'on'],
    ];
    if (h.snpIdBlock && h.snpIdAuth) props.push(['id-block', h.snpIdBlock], ['id-auth', h.snpIdAuth]);
    if (h.snpGuestPolicy !== undefined) props.push(['policy', h.snpGuestPolicy]);
    if (spec.initdata) {
      if (spec.initdata.digest.length !== SNP_HOST_DATA_BYTES) {
        warnings.push(
          `initdata digest is ${spec.initdata.digest.length} bytes; host-data takes ${SNP_HOST_DATA_BYTES} (${spec.initdata.digest.length > SNP_HOST_DATA_BYTES ? 'truncated' : 'zero-padded'})`,
        );
      }
      props.push(['host-data', fitDigest(spec.initdata.digest, SNP_HOST_DATA_BYTES).toString('base64')]);
    }
    add('-object', kv('sev-snp-guest', props));
  } else if (protection === 'sev') {
    add(
      '-object',
      kv('sev-guest', [
        ['id', 'sev'],
        ['cbitpos', spec.cbitpos],
        ['reduced-phys-bits', 1],
      ]),
    );
    add('-drive', `if=pflash,format=raw,readonly=on,file=${h.firmware}`);
  } else if (protection === 'tdx') {
    const obj: Record<string, unknown> = { 'qom-type': 'tdx-guest', id: 'tdx' };
    if (spec.initdata) {
      if (spec.initdata.digest.length !== TDX_MRCONFIGID_BYTES) {
        warnings.push(
          `initdata digest is ${spec.initdata.digest.length} bytes; mrconfigid takes ${TDX_MRCONFIGID_BYTES} (${spec.initdata.digest.length > TDX_MRCONFIGID_BYTES ? 'truncated' : 'zero-padded'})`,
        );
      }
      obj.mrconfigid = fitDigest(spec.initdata.digest, TDX_MRCONFIGID_BYTES).toString('base64');
    }
    const port = h.tdxQuoteGenerationServiceSocketPort;
    if (port === 0 && spec.tdxQgsSocketPresent) {
      obj['quote-generation-socket'] = { type: 'unix', path: TDX_QGS_SOCKET };
    } else {
      if (port === 0) warnings.push(`${TDX_QGS_SOCKET} not found: using the QGS over vsock port 4050`);
      obj['quote-generation-socket'] = { type: 'vsock', cid: '2', port: String(port === 0 ? 4050 : port) };
    }
    add('-object', JSON.stringify(obj));
  }
  // 7.7 PCIe ports
  for (const p of spec.topology.ports) {
    add(
      '-device',
      kv(p.driver, [
        ['id', p.id],
        ['bus', p.bus],
        ['chassis', p.chassis],
        ['slot', p.slot],
        ['multifunction', p.multifunction],
      ]),
    );
  }
  // 7.8 cold-plugged VFIO functions, each with its iommufd object
  for (const d of spec.topology.devices) {
    const iommufd = d.node.kind === 'iommufd' ? `iommufd${d.id}` : undefined;
    if (iommufd) add('-object', `iommufd,id=${iommufd}`);
    add(
      '-device',
      kv('vfio-pci', [
        ['host', d.fn.bdf],
        ['id', d.id],
        ['x-pci-vendor-id', d.fn.vendor],
        ['x-pci-device-id', d.fn.device],
        ['bus', d.bus],
        ['iommufd', iommufd],
      ]),
    );
  }
  // 7.9 vsock
  if (config.agent.agentTransport === 'vsock') {
    if (!spec.vsock)
      throw new HypervisorError(
        'agent_transport = "vsock" needs a vhost-vsock device (open /dev/vhost-vsock failed or was not attempted)',
      );
    add(
      '-device',
      `vhost-vsock-pci,disable-modern=false,vhostfd=${spec.vsock.vhostFd},id=vsock-${spec.vsock.cid},guest-cid=${spec.vsock.cid},bus=pcie.0`,
    );
  }

  // 8-11. clock, pit, display, defaults
  add('-rtc', 'base=utc,driftfix=slew,clock=host');
  if (!tcg) add('-global', 'kvm-pit.lost_tick_policy=discard');
  add('-vga', 'none', '-no-user-config', '-nodefaults', '-nographic', '--no-reboot');

  // 12. memory backend + NUMA node
  const prealloc = h.enableMemPrealloc ? ',prealloc=on' : '';
  const backend = h.enableHugepages
    ? `memory-backend-file,id=dimm1,size=${mem}M,mem-path=/dev/hugepages,share=on${prealloc}`
    : h.sharedFs === 'virtio-fs'
      ? `memory-backend-file,id=dimm1,size=${mem}M,mem-path=/dev/shm,share=on${prealloc}`
      : `memory-backend-ram,id=dimm1,size=${mem}M${prealloc}`;
  add('-object', backend, '-numa', 'node,memdev=dimm1');

  // 13. kernel, initrd, command line
  add('-kernel', h.kernel);
  if (h.initrd && !h.image) add('-initrd', h.initrd);
  const maxVcpus = Math.max(spec.sizing.maxVcpus, spec.sizing.vcpus);
  add('-append', buildKernelParams({ config, maxVcpus, agentTransport: config.agent.agentTransport }));

  // 14. firmware
  if (h.firmware && protection !== 'sev') add('-bios', h.firmware);

  // 15-16. pidfile, smp
  add('-pidfile', paths.pidFile);
  const v = spec.sizing.vcpus;
  add('-smp', cc ? `${v},cores=1,threads=1` : `${v},cores=1,threads=1,sockets=${maxVcpus},maxcpus=${maxVcpus}`);

  return { binary: h.path, args, warnings };
}
