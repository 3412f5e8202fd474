import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../src/errors/index.js';
import { loadConfigFile } from '../../../src/config/index.js';
import { MINIMAL, tempConfig } from './helpers.js';

const CC = `${MINIMAL}confidential_guest = true\nsev_snp_guest = true\n`;

function errorOf(text: string): { file: string; e: ConfigError } {
  const file = tempConfig(text);
  try {
    loadConfigFile(file);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return { file, e: e as ConfigError };
  }
  throw new Error(`expected failure for:\n${text}`);
}

const b64 = (n: number): string => Buffer.alloc(n, 7).toString('base64');

describe('validation rules', () => {
  it('hot_plug_vfio and cold_plug_vfio cannot both be set (check 11)', () => {
    const { file, e } = errorOf(`${MINIMAL}hot_plug_vfio = "root-port"\ncold_plug_vfio = "switch-port"\n`);
    expect(e.message).toBe(
      `${file}: [hypervisor.qemu] cold_plug_vfio: hot_plug_vfio = "root-port" and cold_plug_vfio = "switch-port" cannot both be set; set one of them to "no-port"`,
    );
    expect(e.where).toMatchObject({ file, table: 'hypervisor.qemu', key: 'cold_plug_vfio' });
    // One of them set, the other no-port: fine.
    expect(
      loadConfigFile(tempConfig(`${MINIMAL}hot_plug_vfio = "no-port"\ncold_plug_vfio = "switch-port"\n`)).config
        .hypervisor.coldPlugVfio,
    ).toBe('switch-port');
  });

  it('pcie_root_port / pcie_switch_port above 16 are clamped to 16 with a warning (check 10)', () => {
    const f = tempConfig(`${MINIMAL}pcie_root_port = 20\npcie_switch_port = 17\n`);
    const loaded = loadConfigFile(f);
    expect(loaded.config.hypervisor.pcieRootPort).toBe(16);
    expect(loaded.config.hypervisor.pcieSwitchPort).toBe(16);
    expect(loaded.warnings).toEqual([
      `${f}: [hypervisor.qemu] pcie_root_port: 20 exceeds the maximum of 16; clamped to 16`,
      `${f}: [hypervisor.qemu] pcie_switch_port: 17 exceeds the maximum of 16; clamped to 16`,
    ]);
    expect(loadConfigFile(tempConfig(`${MINIMAL}pcie_root_port = 16\n`)).warnings).toEqual([]);
  });

  it('extra_monitor_socket accepts "", hmp, qmp, qmp-pretty and nothing else (check 16)', () => {
    for (const v of ['hmp', 'qmp', 'qmp-pretty']) {
      const l = loadConfigFile(tempConfig(`${MINIMAL}extra_monitor_socket = "${v}"\nenable_debug = true\n`));
      expect(l.config.hypervisor.extraMonitorSocket).toBe(v);
      expect(l.warnings).toEqual([]);
    }
    const { e } = errorOf(`${MINIMAL}extra_monitor_socket = "telnet"\n`);
    expect(e.message).toContain('extra_monitor_socket = "telnet": expected one of "", "hmp", "qmp", "qmp-pretty"');
  });

  it('extra_monitor_socket without enable_debug has no effect and says so', () => {
    const f = tempConfig(`${MINIMAL}extra_monitor_socket = "hmp"\n`);
    expect(loadConfigFile(f).warnings).toEqual([
      `${f}: [hypervisor.qemu] extra_monitor_socket: "hmp" has no effect unless enable_debug = true`,
    ]);
  });

  it('extra_monitor_socket on a confidential guest needs allow_debug_monitor_on_confidential_guest AND enable_debug', () => {
    const { e } = errorOf(`${CC}extra_monitor_socket = "qmp"\nenable_debug = true\n`);
    expect(e.message).toContain('extra_monitor_socket: "qmp" is refused for a confidential guest');
    const { e: e2 } = errorOf(`${CC}extra_monitor_socket = "qmp"\nallow_debug_monitor_on_confidential_guest = true\n`);
    expect(e2.message).toContain('is refused for a confidential guest');
    const ok = loadConfigFile(
      tempConfig(
        `${CC}extra_monitor_socket = "qmp"\nallow_debug_monitor_on_confidential_guest = true\nenable_debug = true\n`,
      ),
    );
    expect(ok.config.hypervisor.extraMonitorSocket).toBe('qmp');
  });

  it('vfio_mode must be guest-kernel or vfio', () => {
    const { e } = errorOf(`${MINIMAL}[runtime]\nvfio_mode = "passthrough"\n`);
    expect(e.message).toContain('[runtime] vfio_mode = "passthrough": expected one of "guest-kernel", "vfio"');
    expect(loadConfigFile(tempConfig(`${MINIMAL}[runtime]\nvfio_mode = "vfio"\n`)).config.runtime.vfioMode).toBe(
      'vfio',
    );
  });

  it('SNP ID block without ID auth (and vice versa) is refused (check 3)', () => {
    const { e } = errorOf(`${CC}snp_id_block = "AAAA"\nsnp_id_auth = ""\n`);
    expect(e.message).toContain('snp_id_block is set but snp_id_auth is empty: an IDBlock without IDAuth is rejected');
    const { e: e2 } = errorOf(`${CC}snp_id_auth = "${b64(4096)}"\n`);
    expect(e2.message).toContain('an IDAuth without IDBlock');
  });

  it('SNP ID block / auth must decode to 96 / 4096 bytes', () => {
    const { e } = errorOf(`${CC}snp_id_block = "${b64(95)}"\nsnp_id_auth = "${b64(4096)}"\n`);
    expect(e.message).toContain('snp_id_block must decode to 96 bytes, got 95');
    const { e: e2 } = errorOf(`${CC}snp_id_block = "${b64(96)}"\nsnp_id_auth = "not base64!"\n`);
    expect(e2.message).toContain('snp_id_auth must be standard base64');
    const ok = loadConfigFile(tempConfig(`${CC}snp_id_block = "${b64(96)}"\nsnp_id_auth = "${b64(4096)}"\n`));
    expect(ok.config.hypervisor.snpIdBlock).toBe(b64(96));
  });

  it('snp_guest_policy must keep reserved bit 17 set', () => {
    const { e } = errorOf(`${CC}snp_guest_policy = 65536\n`);
    expect(e.message).toContain('0x10000 has reserved bit 17 clear');
    expect(loadConfigFile(tempConfig(`${CC}snp_guest_policy = 196608\n`)).config.hypervisor.snpGuestPolicy).toBe(
      196608,
    );
  });

  it('a confidential guest cannot use tcg or VFIO hot plug', () => {
    expect(errorOf(`${CC}accel = "tcg"\n`).e.message).toContain('accel = "tcg" cannot run a confidential guest');
    expect(errorOf(`${CC}hot_plug_vfio = "root-port"\n`).e.message).toContain(
      'not supported for a confidential guest: VFIO devices are cold-plugged only',
    );
    expect(loadConfigFile(tempConfig(`${MINIMAL}accel = "tcg"\n`)).config.hypervisor.accel).toBe('tcg');
  });

  it('sev_snp_guest without confidential_guest warns', () => {
    const f = tempConfig(`${MINIMAL}sev_snp_guest = true\n`);
    expect(loadConfigFile(f).warnings).toEqual([
      `${f}: [hypervisor.qemu] sev_snp_guest: has no effect because confidential_guest is false`,
    ]);
  });

  it('paths must be absolute; image and initrd are exclusive; path and kernel are required', () => {
    expect(errorOf(`${MINIMAL}firmware = "OVMF.fd"\n`).e.message).toContain(
      '[hypervisor.qemu] firmware: must be an absolute path, got "OVMF.fd"',
    );
    expect(errorOf(`${MINIMAL}image = "/a.img"\ninitrd = "/a.initrd"\n`).e.message).toContain(
      'image ("/a.img") and initrd ("/a.initrd") cannot both be set',
    );
    expect(errorOf(`[hypervisor.qemu]\npath = ""\n`).e.message).toContain(
      '[hypervisor.qemu] path: the QEMU binary path must not be empty',
    );
    expect(errorOf(`${MINIMAL}[runtime]\ncdi_spec_dirs = ["cdi"]\n`).e.message).toContain(
      '[runtime] cdi_spec_dirs: every entry must be an absolute directory',
    );
  });

  it('memory and vCPU sizing: 0 means the default, below 256 MiB and max < default are refused, bridges clamp to 5', () => {
    const l = loadConfigFile(tempConfig(`${MINIMAL}default_vcpus = 0\ndefault_memory = 0\ndefault_bridges = 9\n`));
    expect(l.config.hypervisor.defaultVcpus).toBe(1);
    expect(l.config.hypervisor.defaultMemory).toBe(2048);
    expect(l.config.hypervisor.defaultBridges).toBe(5);
    expect(l.warnings[0]).toContain('default_bridges: 9 exceeds the maximum of 5; clamped to 5');
    expect(errorOf(`${MINIMAL}default_memory = 128\n`).e.message).toContain(
      'default_memory: 128 MiB is less than the minimum of 256 MiB',
    );
    expect(errorOf(`${MINIMAL}default_vcpus = 4\ndefault_maxvcpus = 2\n`).e.message).toContain(
      'default_maxvcpus: 2 is less than default_vcpus (4)',
    );
  });

  it('kernel_verity_params must be comma-separated known key=value pairs', () => {
    const good = 'root_hash=abc123,salt=00ff,data_blocks=100,data_block_size=4096,hash_block_size=4096';
    expect(
      loadConfigFile(tempConfig(`${MINIMAL}kernel_verity_params = "${good}"\n`)).config.hypervisor.kernelVerityParams,
    ).toBe(good);
    expect(errorOf(`${MINIMAL}kernel_verity_params = "roothash=abc"\n`).e.message).toContain(
      'unknown dm-verity parameter "roothash"',
    );
    expect(errorOf(`${MINIMAL}kernel_verity_params = "data_blocks=lots"\n`).e.message).toContain(
      'data_blocks must be a decimal integer',
    );
  });

  it('enable_annotations entries must be valid regular expressions', () => {
    expect(errorOf(`${MINIMAL}enable_annotations = ["kernel_(params"]\n`).e.message).toContain(
      'entry "kernel_(params" is not a valid regular expression',
    );
  });

  it('agent_transport accepts vsock and virtio-serial only', () => {
    expect(
      loadConfigFile(tempConfig(`${MINIMAL}[agent.kata]\nagent_transport = "virtio-serial"\n`)).config.agent
        .agentTransport,
    ).toBe('virtio-serial');
    expect(errorOf(`${MINIMAL}[agent.kata]\nagent_transport = "tcp"\n`).e.message).toContain(
      'expected one of "vsock", "virtio-serial"',
    );
  });
});
