/**
 * configfs-tsm (Linux ≥ 6.7): `/sys/kernel/config/tsm/report/<entry>/{provider,privlevel,inblob,outblob,auxblob,
 * generation}`. One report: mkdir the entry, check the provider, (privlevel), write the 64-byte inblob, read outblob
 * and auxblob, check generation for a concurrent writer, rmdir.
 */
import { promises as fs } from 'node:fs';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { AttesterError } from './attester.js';

export const TSM_REPORT_ROOT = '/sys/kernel/config/tsm/report';

/** The file operations used (the real fs by default; tests pass a fake tree with kernel semantics). */
export interface ConfigfsOps {
  mkdir(p: string): Promise<void>;
  rmdir(p: string): Promise<void>;
  readFile(p: string): Promise<Buffer>;
  writeFile(p: string, data: Buffer | string): Promise<void>;
  access(p: string): Promise<void>;
}

export const realConfigfs: ConfigfsOps = {
  mkdir: async (p) => {
    await fs.mkdir(p);
  },
  rmdir: (p) => fs.rmdir(p),
  readFile: (p) => fs.readFile(p),
  writeFile: (p, d) => fs.writeFile(p, d),
  access: (p) => fs.access(p),
};

export interface TsmReport {
  provider: string;
  outblob: Buffer;
  auxblob?: Buffer;
}

export interface TsmOptions {
  root?: string;
  ops?: ConfigfsOps;
  privlevel?: number;
}

/** Whether configfs-tsm is usable at `root`. */
export async function tsmAvailable(opts: TsmOptions = {}): Promise<boolean> {
  try {
    await (opts.ops ?? realConfigfs).access(opts.root ?? TSM_REPORT_ROOT);
    return true;
  } catch {
    return false;
  }
}

/** Get one report from configfs-tsm; `provider` must match (sev_guest, tdx_guest). */
export async function tsmGetReport(
  tee: string,
  expectedProvider: string,
  inblob: Buffer,
  opts: TsmOptions = {},
): Promise<TsmReport> {
  const ops = opts.ops ?? realConfigfs;
  const root = opts.root ?? TSM_REPORT_ROOT;
  if (inblob.length !== 64)
    throw new AttesterError(`${tee}: configfs-tsm inblob must be 64 bytes, got ${inblob.length}`, tee);
  const dir = path.join(root, `ccgpu-${process.pid}-${randomBytes(6).toString('hex')}`);
  try {
    await ops.mkdir(dir);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new AttesterError(
      code === 'ENOENT'
        ? `${tee}: configfs-tsm is not available (${root} does not exist; needs Linux ≥ 6.7 and configfs mounted)`
        : `${tee}: cannot create ${dir}: ${(e as Error).message}`,
      tee,
      { cause: e },
    );
  }
  const step = async <T>(what: string, f: () => Promise<T>): Promise<T> => {
    try {
      return await f();
    } catch (e) {
      if (e instanceof AttesterError) throw e;
      throw new AttesterError(`${tee}: configfs-tsm ${what} (${dir}) failed: ${(e as Error).message}`, tee, {
        cause: e,
      });
    }
  };
  try {
    const provider = (await step('reading provider', () => ops.readFile(path.join(dir, 'provider'))))
      .toString('utf8')
      .trim();
    if (provider !== expectedProvider) {
      throw new AttesterError(
        `${tee}: configfs-tsm provider is "${provider}", expected "${expectedProvider}" (wrong TEE for this guest?)`,
        tee,
      );
    }
    let writes = 0;
    if (opts.privlevel !== undefined) {
      await step('writing privlevel', () => ops.writeFile(path.join(dir, 'privlevel'), String(opts.privlevel)));
      writes++;
    }
    await step('writing inblob', () => ops.writeFile(path.join(dir, 'inblob'), inblob));
    writes++;
    const outblob = await step('reading outblob', () => ops.readFile(path.join(dir, 'outblob')));
    if (outblob.length === 0) throw new AttesterError(`${tee}: configfs-tsm returned an empty report`, tee);
    let auxblob: Buffer | undefined;
    try {
      auxblob = await ops.readFile(path.join(dir, 'auxblob'));
    } catch {
      auxblob = undefined; // not every provider has it; an empty table is normal on current hosts
    }
    const gen = Number(
      (await step('reading generation', () => ops.readFile(path.join(dir, 'generation')))).toString().trim(),
    );
    if (gen !== writes) {
      throw new AttesterError(
        `${tee}: configfs-tsm generation is ${gen}, expected ${writes}: another writer raced on ${dir}`,
        tee,
      );
    }
    return { provider, outblob, ...(auxblob && auxblob.length ? { auxblob } : {}) };
  } finally {
    await ops.rmdir(dir).catch(() => undefined);
  }
}
