/**
 * Embedded fallback names (pci.ids wording) for NVIDIA data-center GPUs and NVSwitches, used when the host's pci.ids
 * is missing or older than the device (Debian bookworm's 2023 copy has no H200 or H100 NVSwitch, for example).
 * Keys: PCI device ID, 4 lower-case hex digits.
 */
export const NVIDIA_DATACENTER_MODELS: Readonly<Record<string, string>> = {
  // NVSwitches (class 0x068000)
  '1af1': 'GA100 [A100 NVSwitch]',
  '22a3': 'GH100 [H100 NVSwitch]',
  // Ampere
  '20b0': 'GA100 [A100 SXM4 40GB]',
  '20b1': 'GA100 [A100 PCIe 40GB]',
  '20b2': 'GA100 [A100 SXM4 80GB]',
  '20b3': 'GA100 [A100-SXM-64GB]',
  '20b5': 'GA100 [A100 PCIe 80GB]',
  '20b7': 'GA100GL [A30 PCIe]',
  '20b8': 'GA100 [A100X]',
  '20b9': 'GA100 [A30X]',
  '20f1': 'GA100 [A100 PCIe 40GB]',
  '20f3': 'GA100 [A800-SXM4-80GB]',
  '20f5': 'GA100 [A800 80GB PCIe]',
  '20f6': 'GA100 [A800 40GB PCIe]',
  // Hopper
  '2313': 'GH100 [H100 CNX]',
  '2321': 'GH100 [H100L 94GB]',
  '2322': 'GH100 [H800 PCIe]',
  '2330': 'GH100 [H100 SXM5 80GB]',
  '2331': 'GH100 [H100 PCIe]',
  '2336': 'GH100 [H100]',
  '2342': 'GH100 [GH200 120GB / 480GB]',
  // Blackwell
  '2901': 'GB100 [B200]',
};
