/**
 * Per-model CDI class names, as NVIDIA's sandbox-device-plugin forms them when P_GPU_ALIAS / NVSWITCH_ALIAS are set
 * to the empty string — with its latent bug fixed: a name that does not make a valid CDI class (empty, or starting
 * with a digit) falls back to a valid one instead of the bare hex device ID.
 */
import { validateClassName } from '../qualified-name.js';

/** Upper case; `/` and `.` → `_`; whitespace runs → `_`; anything outside [A-Za-z0-9_-] removed. */
export function formatModelName(name: string): string {
  return name
    .toUpperCase()
    .replace(/[/.]/g, '_')
    .replace(/\s+/g, '_')
    .replace(/[^A-Za-z0-9_-]/g, '');
}

/**
 * The class for a model: the formatted pci.ids name when it is a valid CDI class, otherwise
 * `<FALLBACK>_<VENDOR>_<DEVICE>` (e.g. `GPU_10DE_2330`).
 */
export function modelClass(
  pciName: string,
  vendor: string,
  device: string,
  fallbackPrefix: 'GPU' | 'NVSWITCH',
): string {
  const formatted = formatModelName(pciName.trim());
  if (formatted !== '' && validateClassName(formatted) === undefined) return formatted;
  const hex = (s: string): string => s.toUpperCase().replace(/^0X/, '');
  return `${fallbackPrefix}_${hex(vendor)}_${hex(device)}`;
}
