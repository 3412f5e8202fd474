/**
 * Memory stays flat whatever the layer size: a 512 MiB (uncompressed) gzip layer pushed to a local docker-registry
 * is pulled through the whole path the generator uses (undici → digest check → gunzip → tar reader → diff_id
 * check) while heap + ArrayBuffer growth is sampled. Not timed: only the memory bound and the result are asserted.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RegistryClient } from '../../../policy/oci/index.js';
import { RegistryImageSource } from '../../../policy/genpolicy/index.js';
import {
  bigLayer,
  haveRegistry,
  pushImage,
  startRegistry,
  usersLayer,
  type LocalRegistry,
} from '../../fixtures/registry/index.js';

const have = haveRegistry();
if (!have) console.warn('skipping large-layer memory test: /usr/bin/docker-registry is not installed');

// CCGPU_LARGE_LAYER_MIB overrides the size for manual runs (e.g. 4096 to see that the peak does not grow)
const FILE_BYTES = Number(process.env.CCGPU_LARGE_LAYER_MIB ?? 512) * 1024 * 1024;
const BOUND = 64 * 1024 * 1024;
const MIB = (n: number): string => (n / 2 ** 20).toFixed(1);

function used(): number {
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

describe.skipIf(!have)('layer streaming memory (local docker-registry)', () => {
  let reg: LocalRegistry;
  let reference: string;

  beforeAll(async () => {
    reg = await startRegistry();
    const client = new RegistryClient({ insecureRegistries: [reg.host] });
    reference = `${reg.host}/test/huge:1.0`;
    // the big layer is on top, so /etc/passwd and /etc/group are only found after streaming all of it
    const huge = await bigLayer({ fileBytes: FILE_BYTES, before: [{ path: 'etc/motd', content: 'hello\n' }] });
    expect(huge.blob.length).toBeLessThan(FILE_BYTES / 200);
    await pushImage(client, reference, { layers: [usersLayer(), huge], config: { Cmd: ['sh'] } });
    await client.close();
  }, 120_000);
  afterAll(async () => {
    await reg?.stop();
  });

  it(`pulls /etc/passwd from under a ${MIB(FILE_BYTES)} MiB layer with heap growth under ${MIB(BOUND)} MiB`, async () => {
    const source = new RegistryImageSource({ insecureRegistries: [reg.host] });
    const before = used();
    let peak = 0;
    const timer = setInterval(() => (peak = Math.max(peak, used() - before)), 10);
    try {
      const info = await source.getImage(reference);
      peak = Math.max(peak, used() - before);
      expect(info.passwd).toContain('app:x:1234:2345:');
      expect(info.group).toContain('appgrp:x:2345:');
      expect(source.layersDownloaded).toBe(2);
    } finally {
      clearInterval(timer);
      await source.close();
    }
    console.info(`large layer: ${MIB(FILE_BYTES)} MiB streamed, peak heap+buffers growth ${MIB(peak)} MiB`);
    expect(peak).toBeGreaterThan(0);
    expect(peak).toBeLessThan(BOUND);
  }, 120_000);
});
