/**
 * Unsealing in containers as the Kata agent does:
 * - env: every `KEY=sealed.…` value is replaced by the UTF-8 plaintext (a failure names the variable, never its value);
 * - volumes: for mount sources under /run/kata-containers/shared/containers (except resolv.conf, termination-log,
 *   hostname, hosts, serviceaccount), each regular file or symlink whose content starts with `sealed.` gets the
 *   plaintext written to `<target>.unsealed`, and the entry becomes a relative symlink to it.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { isSealedSecret } from '../sealed/index.js';

export const SHARED_CONTAINERS_DIR = '/run/kata-containers/shared/containers';
export const UNSEAL_EXCLUDED = ['resolv.conf', 'termination-log', 'hostname', 'hosts', 'serviceaccount'] as const;

export interface Unsealer {
  unsealSecret(secret: string | Buffer): Promise<Buffer>;
}

export class UnsealError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'UnsealError';
  }
}

/** Unseal `KEY=sealed.…` entries of an OCI env list. */
export async function unsealEnv(env: readonly string[], cdh: Unsealer): Promise<string[]> {
  const out: string[] = [];
  for (const e of env) {
    const i = e.indexOf('=');
    const value = i >= 0 ? e.slice(i + 1) : '';
    if (i < 0 || !isSealedSecret(value)) {
      out.push(e);
      continue;
    }
    const key = e.slice(0, i);
    let plain: Buffer;
    try {
      plain = await cdh.unsealSecret(value);
    } catch (err) {
      throw new UnsealError(`unsealing env ${key} failed: ${(err as Error).message}`, { cause: err });
    }
    let text: string;
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(plain);
    } catch {
      throw new UnsealError(`unsealing env ${key}: the plaintext is not UTF-8`);
    }
    out.push(`${key}=${text}`);
  }
  return out;
}

/** Whether a mount source is a shared-volume directory the agent should scan. */
export function shouldUnsealMount(source: string, sharedDir = SHARED_CONTAINERS_DIR): boolean {
  const norm = path.resolve(source);
  if (!norm.startsWith(path.resolve(sharedDir) + path.sep)) return false;
  return !(UNSEAL_EXCLUDED as readonly string[]).some((x) => norm.split(path.sep).includes(x));
}

/** Scan one mount-source directory; returns the entries that were unsealed. */
export async function unsealVolumeDir(dir: string, cdh: Unsealer): Promise<string[]> {
  const done: string[] = [];
  const entries = await fs.readdir(dir, { withFileTypes: true });
  for (const ent of entries) {
    if ((UNSEAL_EXCLUDED as readonly string[]).includes(ent.name)) continue;
    if (!ent.isFile() && !ent.isSymbolicLink()) continue;
    const entry = path.join(dir, ent.name);
    let target: string;
    try {
      target = await fs.realpath(entry);
    } catch {
      continue; // dangling symlink
    }
    const st = await fs.stat(target);
    if (!st.isFile()) continue;
    const fh = await fs.open(target, 'r');
    let head: Buffer;
    try {
      const b = Buffer.alloc(7);
      const { bytesRead } = await fh.read(b, 0, 7, 0);
      head = b.subarray(0, bytesRead);
    } finally {
      await fh.close();
    }
    if (!isSealedSecret(head)) continue;
    let plain: Buffer;
    try {
      plain = await cdh.unsealSecret((await fs.readFile(target, 'utf8')).trim());
    } catch (err) {
      throw new UnsealError(`unsealing volume file ${entry} failed: ${(err as Error).message}`, { cause: err });
    }
    const unsealed = `${target}.unsealed`;
    await fs.writeFile(unsealed, plain, { mode: st.mode & 0o777 });
    const tmpLink = path.join(dir, `.${ent.name}.unsealing`);
    await fs.rm(tmpLink, { force: true });
    await fs.symlink(path.relative(dir, unsealed), tmpLink);
    await fs.rename(tmpLink, entry);
    done.push(entry);
  }
  return done;
}
