import { describe, expect, it } from 'vitest';
import { loadConfigFile } from '../../../src/config/index.js';
import { tempConfig } from './helpers.js';

/**
 * Every key of Kata 4.1's rendered configuration-qemu-nvidia-gpu-snp.toml (values as rendered with PREFIX=/opt/kata),
 * written out by hand: a Kata file must load in ccgpu without a single warning.
 */
const KATA_RENDERED_SNP = `
[hypervisor.qemu]
path = "/opt/kata/bin/qemu-system-x86_64-snp-experimental"
kernel = "/opt/kata/share/kata-containers/vmlinuz-nvidia-gpu.container"
image = "/opt/kata/share/kata-containers/kata-containers-nvidia-gpu-confidential.img"
machine_type = "q35"
rootfs_type = "erofs"
confidential_guest = true
sev_snp_guest = true
rootless = false
enable_annotations = ["enable_iommu", "kernel_params", "kernel_verity_params", "default_vcpus", "default_memory", "cc_init_data"]
valid_hypervisor_paths = ["/opt/kata/bin/qemu-system-x86_64-snp-experimental"]
snp_id_block = ""
snp_id_auth = ""
snp_guest_policy = 196608
kernel_params = "cgroup_no_v1=all pci=realloc pci=nocrs pci=assign-busses nvrc.smi.srs=1"
kernel_verity_params = ""
firmware = "/opt/kata/share/ovmf/AMDSEV.fd"
firmware_volume = ""
machine_accelerators = ""
seccompsandbox = ""
cpu_features = "pmu=off"
default_vcpus = 1
default_maxvcpus = 0
default_bridges = 1
default_memory = 8192
memory_slots = 10
default_maxmemory = 0
memory_offset = 0
enable_virtio_mem = false
disable_block_device_use = true
shared_fs = "none"
virtio_fs_daemon = "/opt/kata/libexec/virtiofsd"
valid_virtio_fs_daemon_paths = ["/opt/kata/libexec/virtiofsd"]
virtio_fs_cache_size = 0
virtio_fs_queue_size = 1024
virtio_fs_extra_args = ["--thread-pool-size=1", "--announce-submounts"]
virtio_fs_cache = "auto"
block_device_driver = "virtio-scsi"
block_device_aio = "io_uring"
block_device_cache_set = false
block_device_cache_direct = false
block_device_cache_noflush = false
block_device_logical_sector_size = 0
block_device_physical_sector_size = 0
enable_iothreads = false
indep_iothreads = 0
enable_mem_prealloc = false
reclaim_guest_freed_memory = false
enable_hugepages = false
enable_vhost_user_store = false
vhost_user_store_path = "/var/run/kata-containers/vhost-user"
enable_iommu = false
enable_iommu_platform = false
enable_numa = false
numa_mapping = []
valid_vhost_user_store_paths = ["/var/run/kata-containers/vhost-user"]
vhost_user_reconnect_timeout_sec = 0
pflashes = []
enable_debug = false
disable_nesting_checks = false
msize_9p = 8192
disable_image_nvdimm = true
pcie_root_port = 0
cold_plug_vfio = "root-port"
disable_vhost_net = false
entropy_source = "/dev/urandom"
valid_entropy_sources = ["/dev/urandom", "/dev/random", ""]
guest_hook_path = ""
rx_rate_limiter_max_rate = 0
tx_rate_limiter_max_rate = 0
guest_memory_dump_path = ""
guest_memory_dump_paging = false
enable_guest_swap = false
use_legacy_serial = false
disable_selinux = false
disable_guest_selinux = true

[factory]
enable_template = false
template_path = "/run/vc/vm/template"
vm_cache_number = 0
vm_cache_endpoint = "/var/run/kata-containers/cache.sock"

[agent.kata]
enable_debug = false
enable_tracing = false
kernel_modules = []
debug_console_enabled = false
dial_timeout = 1200
launch_process_timeout = 15
visible_cdi_devices = false

[runtime]
enable_debug = false
internetworking_model = "tcfilter"
disable_guest_seccomp = true
enable_vcpus_pinning = false
guest_selinux_label = ""
enable_tracing = false
jaeger_endpoint = ""
jaeger_user = ""
jaeger_password = ""
disable_new_netns = false
sandbox_cgroup_only = true
static_sandbox_resource_mgmt = true
sandbox_bind_mounts = []
vfio_mode = "guest-kernel"
disable_guest_empty_dir = true
emptydir_mode = "block-encrypted"
experimental = []
enable_pprof = false
create_container_timeout = 1200
dan_conf = "/run/kata-containers/dans"
experimental_force_guest_pull = false
kubelet_root_dir = "/var/lib/kubelet"
pod_resource_api_sock = "/var/lib/kubelet/pod-resources/kubelet.sock"
`;

describe('Kata compatibility', () => {
  it("Kata 4.1's rendered qemu-nvidia-gpu-snp configuration loads without warnings", () => {
    const loaded = loadConfigFile(tempConfig(KATA_RENDERED_SNP));
    expect(loaded.warnings).toEqual([]);
    expect(loaded.config.hypervisor.path).toBe('/opt/kata/bin/qemu-system-x86_64-snp-experimental');
    expect(loaded.config.hypervisor.coldPlugVfio).toBe('root-port');
    expect(loaded.config.runtime.emptydirMode).toBe('block-encrypted');
  });
});
