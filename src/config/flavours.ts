/**
 * The shipped runtime flavours: one `configs/configuration-<flavour>.toml` each, mirroring Kata 4.1's templates.
 */
import path from 'node:path';
import { packageRoot } from './package-root.js';
import type { Flavour } from './types.js';

export const FLAVOURS: readonly Flavour[] = [
  'qemu-nvidia-gpu-snp',
  'qemu-nvidia-gpu-tdx',
  'qemu-nvidia-gpu',
  'qemu-snp',
  'qemu-tdx',
  'qemu-coco-dev',
];

export const DEFAULT_FLAVOUR: Flavour = 'qemu-nvidia-gpu-snp';

export function isFlavour(s: string): s is Flavour {
  return (FLAVOURS as readonly string[]).includes(s);
}

/** The containerd runtime handler / RuntimeClass name of a flavour (Kata's names, so pods need no change). */
export function runtimeHandler(flavour: Flavour): string {
  return `kata-${flavour}`;
}

/** Absolute path of the shipped configuration file of `flavour`. */
export function shippedConfigPath(flavour: Flavour = DEFAULT_FLAVOUR): string {
  return path.join(packageRoot(), 'configs', `configuration-${flavour}.toml`);
}

/** Where an installed flavour's configuration lives (the path the containerd snippets pass as `ConfigPath`). */
export function installedConfigPath(flavour: Flavour, prefix = '/opt/ccgpu'): string {
  return path.posix.join(prefix, 'share/defaults/ccgpu/runtimes', flavour, `configuration-${flavour}.toml`);
}
