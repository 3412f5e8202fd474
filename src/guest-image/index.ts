/**
 * Guest image builder: kernel + initramfs (and optionally a read-only rootfs image) for the dev/test guest, built
 * from Debian packages and host binaries, cached by content hash, reproducible. Plus the bare-QEMU boot harness used
 * by its tests and the boot-time baseline benchmark.
 */
export {
  buildGuestImage,
  listCachedImages,
  BUILDER_VERSION,
  GUEST_NATIVE_ADDON_PATH,
  GUEST_PROTO_DIR,
  AGENT_NATIVE_ENV,
  DEFAULT_KERNEL_PACKAGE,
  type BuildGuestImageOptions,
  type GuestImage,
  type GuestImageManifest,
  type ExtraFile,
  type ProgressEvent,
  type Compression,
} from './build.js';
export { defaultCacheDir } from './cache-dir.js';
export { defaultAgentEntry, defaultNativeAddon } from './default-agent.js';
export { cpioNewc, cpioNewcChunks, type CpioEntry } from './cpio-newc.js';
export { GuestTree } from './guest-tree.js';
export { readModInfo, type ModInfo } from './elf-modinfo.js';
export {
  selectKernelModules,
  DEFAULT_GUEST_MODULES,
  moduleName,
  type KernelModule,
  type ModuleSelection,
} from './kernel-modules.js';
export { obtainKernel, resolveKernelPackage, parseAptShow, type KernelPackage } from './kernel-package.js';
export { renderInitScript, shQuote, type InitScriptOptions } from './init-script.js';
export { bundleAgent, type AgentBundle, type AgentFormat } from './agent-bundle.js';
export { sharedLibrariesOf } from './shared-libraries.js';
export { buildRootfsImage, uuidFromHex, type RootfsType } from './rootfs-image.js';
export {
  bootGuest,
  haveQemu,
  qemuArgs,
  LineReader,
  type BootGuestOptions,
  type BootedGuest,
  type GuestExit,
} from './boot-guest.js';
