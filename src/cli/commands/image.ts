/**
 * `ccgpu image build`: builds the dev/test guest (kernel + initramfs, optionally a read-only rootfs image) from
 * Debian packages, with progress on stderr, and prints the paths and the content hash. Parses flags, calls
 * src/guest-image, prints.
 */
import { parseArgs } from 'node:util';
import {
  buildGuestImage,
  defaultAgentEntry,
  defaultCacheDir,
  DEFAULT_KERNEL_PACKAGE,
  GUEST_NATIVE_ADDON_PATH,
  type Compression,
} from '../../guest-image/index.js';
import type { RootfsType } from '../../guest-image/index.js';
import { createLogger } from '../../log/index.js';

const USAGE = `usage:
  ccgpu image build [--output DIR] [--agent FILE] [--rootfs erofs|ext4] [--json]
                    [--cache-dir DIR] [--kernel-package PKG | --kernel-deb FILE] [--compression zstd|gzip|none]
                    [--no-runc] [--no-native] [--force]
      build the guest kernel + initramfs (and a read-only rootfs image with --rootfs); cached by content hash
      in --cache-dir (default $CCGPU_CACHE_DIR or ~/.cache/ccgpu/guest, now ${defaultCacheDir()}).
      --agent defaults to src/agent/main.ts; --kernel-package defaults to ${DEFAULT_KERNEL_PACKAGE}.
      The native addon (native/build/Release/ccgpu_native.node, when built) goes to ${GUEST_NATIVE_ADDON_PATH};
      --no-native leaves it out.
`;

function oneOf<T extends string>(flag: string, v: string | undefined, allowed: readonly T[]): T | undefined {
  if (v === undefined) return undefined;
  if (!(allowed as readonly string[]).includes(v))
    throw new Error(`${flag}: expected ${allowed.join(' or ')}, got "${v}"`);
  return v as T;
}

async function build(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      output: { type: 'string', short: 'o' },
      agent: { type: 'string' },
      rootfs: { type: 'string' },
      json: { type: 'boolean', default: false },
      'cache-dir': { type: 'string' },
      'kernel-package': { type: 'string' },
      'kernel-deb': { type: 'string' },
      compression: { type: 'string' },
      'no-runc': { type: 'boolean', default: false },
      'no-native': { type: 'boolean', default: false },
      force: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  const agentEntry = values.agent ?? defaultAgentEntry();
  if (!agentEntry) {
    process.stderr.write('ccgpu image build: src/agent/main.ts does not exist in this checkout; pass --agent FILE\n');
    return 2;
  }
  const img = await buildGuestImage({
    agentEntry,
    outputDir: values.output,
    cacheDir: values['cache-dir'],
    kernelPackage: values['kernel-package'],
    kernelDeb: values['kernel-deb'],
    rootfs: oneOf<RootfsType>('--rootfs', values.rootfs, ['erofs', 'ext4']),
    compression: oneOf<Compression>('--compression', values.compression, ['zstd', 'gzip', 'none']),
    runcBinary: values['no-runc'] ? false : undefined,
    nativeAddon: values['no-native'] ? false : undefined,
    force: values.force,
    logger: createLogger({ name: 'ccgpu-image', pretty: !values.json || process.env.CCGPU_LOG_FORMAT === 'pretty' }),
  });
  const files = img.output ?? {
    kernel: img.kernel,
    initrd: img.initrd,
    rootfsImage: img.rootfsImage,
    manifest: img.manifestPath,
  };
  if (values.json) {
    process.stdout.write(
      JSON.stringify(
        { key: img.manifest.key, cacheHit: img.cacheHit, ...files, cmdline: img.manifest.cmdline },
        null,
        2,
      ) + '\n',
    );
  } else {
    process.stdout.write(
      [
        `key      ${img.manifest.key}${img.cacheHit ? ' (cached)' : ''}`,
        `kernel   ${files.kernel}  (${img.manifest.kernel.package} ${img.manifest.kernel.version})`,
        `initrd   ${files.initrd}  (${img.manifest.initrd.compression})`,
        ...(files.rootfsImage
          ? [`rootfs   ${files.rootfsImage}  (${img.manifest.rootfs?.type}, read-only, /dev/vda)`]
          : []),
        `manifest ${files.manifest}`,
        `cmdline  ${img.manifest.cmdline}`,
      ].join('\n') + '\n',
    );
  }
  return 0;
}

export async function run(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (!sub || sub === '-h' || sub === '--help' || sub === 'help') {
    process.stdout.write(USAGE);
    return sub ? 0 : 2;
  }
  if (sub !== 'build') {
    process.stderr.write(`ccgpu image: unknown subcommand "${sub}"\n${USAGE}`);
    return 2;
  }
  return build(rest);
}
