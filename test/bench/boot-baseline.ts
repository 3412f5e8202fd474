/**
 * Baseline for sandbox start time: how long bare QEMU (TCG here, KVM where available is someone else's concern)
 * takes from spawn to "node is running as PID 1" with the same kernel + initramfs the sandbox uses, measured through
 * the hello-agent fixture's first line on the virtio-serial channel. Benchmarks call `measureBareQemuBoot()` in the
 * same run as the thing they measure and print the ratio.
 *
 * Run alone: `npx tsx test/bench/boot-baseline.ts [runs]`.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildGuestImage, bootGuest, LineReader, type GuestImage } from '../../src/guest-image/index.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export interface BootBaseline {
  /** Milliseconds from spawning QEMU to the agent's first line, per run. */
  runsMs: number[];
  medianMs: number;
  minMs: number;
  image: GuestImage;
}

export interface BootBaselineOptions {
  runs?: number;
  /** An image whose agent writes a line on agent.channel.0 when it starts; default: built from hello-agent.ts. */
  image?: GuestImage;
  cacheDir?: string;
  memoryMiB?: number;
  timeoutMs?: number;
}

/** Boots `runs` times (default 3) and reports the time to node running as PID 1. */
export async function measureBareQemuBoot(opts: BootBaselineOptions = {}): Promise<BootBaseline> {
  const image =
    opts.image ??
    (await buildGuestImage({
      cacheDir: opts.cacheDir ?? path.join(repoRoot, '.cache/guest-image-test'),
      agentEntry: path.join(repoRoot, 'test/fixtures/guest/hello-agent.ts'),
    }));
  const runs = opts.runs ?? 3;
  const runsMs: number[] = [];
  for (let i = 0; i < runs; i++) {
    const guest = await bootGuest({
      kernel: image.kernel,
      initrd: image.initrd,
      rootfsImage: image.rootfsImage,
      append: image.manifest.cmdline,
      serialSocketPath: path.join(path.dirname(image.dir), `bench-${process.pid}.sock`),
      memoryMiB: opts.memoryMiB ?? 1024,
      timeoutMs: opts.timeoutMs ?? 120_000,
    });
    try {
      const reader = new LineReader(await guest.connect());
      const line = await reader.next(opts.timeoutMs ?? 120_000, 'first line from the guest agent');
      if (line === null)
        throw new Error(`guest closed the channel before saying anything:\n${await guest.consoleOutput()}`);
      runsMs.push(Date.now() - guest.startedAt);
    } finally {
      await guest.kill();
    }
  }
  const sorted = [...runsMs].sort((a, b) => a - b);
  return { runsMs, medianMs: sorted[Math.floor(sorted.length / 2)]!, minMs: sorted[0]!, image };
}

const isEntry = process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url);
if (isEntry) {
  const runs = Number(process.argv[2] ?? 3);
  measureBareQemuBoot({ runs }).then(
    (r) => {
      console.log(
        `bare QEMU (TCG) boot to node PID 1: median ${r.medianMs} ms, min ${r.minMs} ms, runs ${r.runsMs.join(', ')}`,
      );
      console.log(
        `image ${r.image.manifest.key.slice(0, 16)} (${r.image.manifest.kernel.release}, initrd ${r.image.manifest.initrd.compression})`,
      );
    },
    (e: unknown) => {
      console.error(`boot baseline failed: ${e instanceof Error ? e.message : String(e)}`);
      process.exit(1);
    },
  );
}
