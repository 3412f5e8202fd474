/**
 * Read-only root filesystem image for a virtio-blk disk (Kata's image mode, where the guest mounts its rootfs from
 * a block device instead of unpacking everything into RAM). The tree is staged into a directory and handed to
 * mkfs.erofs or mkfs.ext4 with every variable pinned (timestamps, UUID, hash seed, owners) so that the same tree
 * gives the same bytes.
 */
import { mkdtemp, rm, open } from 'node:fs/promises';
import path from 'node:path';
import type { GuestTree } from './guest-tree.js';
import { runTool } from './run-tool.js';

export type RootfsType = 'erofs' | 'ext4';

/** A UUID derived from a hex digest, so a rebuild of the same inputs gets the same filesystem UUID. */
export function uuidFromHex(hex: string): string {
  const h = hex.padEnd(32, '0');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

export async function buildRootfsImage(
  tree: GuestTree,
  out: string,
  opts: { type: RootfsType; mtime: number; seedHex: string; workDir: string },
): Promise<void> {
  const stage = await mkdtemp(path.join(opts.workDir, '.rootfs-stage-'));
  const uuid = uuidFromHex(opts.seedHex);
  try {
    await tree.stage(path.join(stage, 'root'), opts.mtime);
    const root = path.join(stage, 'root');
    if (opts.type === 'erofs') {
      await runTool('mkfs.erofs', ['--quiet', `-T${opts.mtime}`, `-U${uuid}`, '--all-root', '-x-1', out, root], {
        env: { ...process.env, SOURCE_DATE_EPOCH: String(opts.mtime) },
      });
    } else {
      // ext4: size with headroom for metadata; no journal (the image is mounted read-only).
      const mib = Math.ceil((tree.dataBytes() * 1.2) / 2 ** 20) + 32;
      const fh = await open(out, 'w');
      await fh.truncate(mib * 2 ** 20);
      await fh.close();
      await runTool(
        'mkfs.ext4',
        [
          '-q',
          '-F',
          '-b',
          '4096',
          '-I',
          '256',
          '-O',
          '^has_journal',
          '-L',
          'ccgpu-rootfs',
          '-U',
          uuid,
          '-E',
          `hash_seed=${uuid},root_owner=0:0,lazy_itable_init=0`,
          '-d',
          root,
          out,
        ],
        { env: { ...process.env, E2FSPROGS_FAKE_TIME: String(opts.mtime), SOURCE_DATE_EPOCH: String(opts.mtime) } },
      );
    }
  } catch (e) {
    await rm(out, { force: true });
    throw e;
  } finally {
    await rm(stage, { recursive: true, force: true });
  }
}
