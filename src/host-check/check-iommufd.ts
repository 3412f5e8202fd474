/**
 * IOMMUFD: `/dev/iommu` exists and every GPU/NVSwitch bound to vfio-pci has a `/dev/vfio/devices/vfioN` cdev.
 * Confidential guests with GPUs need it (Kata: "ConfidentialGuest needs IOMMUFD"); the non-confidential GPU flavour
 * can use legacy VFIO groups instead.
 */
import { result, type CheckContext, type CheckResult } from './types.js';

const KERNEL_FIX =
  'boot a host kernel with CONFIG_IOMMUFD and CONFIG_VFIO_DEVICE_CDEV (Linux >= 6.6), then modprobe iommufd and rebind the devices to vfio-pci';

export function checkIommufd(ctx: CheckContext): CheckResult[] {
  const required = ctx.needs.gpus && ctx.needs.tee !== 'none';
  const present = ctx.host.exists('/dev/iommu');
  if (!ctx.needs.gpus)
    return [result('iommufd', 'skip', `not needed by ${ctx.flavour} (/dev/iommu ${present ? 'exists' : 'is absent'})`)];
  if (!present) {
    if (!required) {
      return [
        result(
          'iommufd',
          'skip',
          `/dev/iommu does not exist; ${ctx.flavour} uses legacy VFIO groups (/dev/vfio/<group>)`,
        ),
      ];
    }
    return [
      result(
        'iommufd',
        'fail',
        `/dev/iommu does not exist; confidential guests get GPUs only through IOMMUFD (/dev/vfio/devices/vfioN), not legacy VFIO groups`,
        KERNEL_FIX,
      ),
    ];
  }
  const bound = 'error' in ctx.pci ? [] : ctx.pci.functions;
  const noCdev = bound.filter((f) => f.vfioCdev === undefined).map((f) => f.bdf);
  if (noCdev.length > 0) {
    return [
      result(
        'iommufd',
        required ? 'fail' : 'warn',
        `/dev/iommu exists but ${noCdev.length} device${noCdev.length === 1 ? ' has' : 's have'} no VFIO cdev (no vfio-dev/vfioN in sysfs): ${noCdev.join(', ')}`,
        KERNEL_FIX,
      ),
    ];
  }
  const cdevs = bound
    .map((f) => f.vfioCdev!)
    .sort((a, b) => a - b)
    .map((n) => `vfio${n}`);
  return [
    result(
      'iommufd',
      'ok',
      `/dev/iommu exists${cdevs.length ? `; cdevs /dev/vfio/devices/${cdevs.length === 1 ? cdevs[0] : `{${cdevs.join(',')}}`}` : ''}`,
    ),
  ];
}
