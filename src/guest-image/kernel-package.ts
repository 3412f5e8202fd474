/**
 * The guest kernel from a Debian kernel image package: resolve a metapackage such as `linux-image-cloud-amd64` to
 * the real `linux-image-<abi>-cloud-amd64`, download the .deb with `apt-get download` (verified against the SHA256
 * in the apt index, kept in the cache), unpack it with `dpkg-deb -x` and locate vmlinuz and lib/modules/<version>.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, readdir, rename, rm, stat, writeFile, mkdtemp, access } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import { runTool, ToolError } from './run-tool.js';

export interface AptPackageInfo {
  package: string;
  version: string;
  architecture: string;
  sha256?: string;
  depends: string[];
}

export interface KernelPackage {
  /** The real package (e.g. linux-image-6.1.0-56-cloud-amd64) and version. */
  package: string;
  version: string;
  deb: string;
  debSha256: string;
  /** Kernel release (directory name under lib/modules). */
  release: string;
  vmlinuz: string;
  modulesRoot: string;
}

export async function sha256File(file: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(file)) h.update(chunk as Buffer);
  return h.digest('hex');
}

/** Parses the first stanza of `apt-cache show --no-all-versions`. */
export function parseAptShow(text: string, pkg: string): AptPackageInfo {
  const stanza = text.split(/\n\n/)[0] ?? '';
  const fields = new Map<string, string>();
  let last = '';
  for (const line of stanza.split('\n')) {
    if (/^\s/.test(line) && last) fields.set(last, (fields.get(last) ?? '') + '\n' + line.trim());
    else {
      const i = line.indexOf(':');
      if (i > 0) {
        last = line.slice(0, i);
        fields.set(last, line.slice(i + 1).trim());
      }
    }
  }
  const name = fields.get('Package');
  const version = fields.get('Version');
  if (!name || !version) throw new Error(`apt-cache show ${pkg}: no Package/Version in the output`);
  const depends = (fields.get('Depends') ?? '')
    .split(',')
    .map((d) => d.trim().split(/[\s(|]/)[0] ?? '')
    .filter(Boolean);
  return {
    package: name,
    version,
    architecture: fields.get('Architecture') ?? '',
    sha256: fields.get('SHA256'),
    depends,
  };
}

async function aptShow(pkg: string, log: Logger): Promise<AptPackageInfo> {
  const show = () => runTool('apt-cache', ['show', '--no-all-versions', pkg]);
  let out: Buffer;
  try {
    out = (await show()).stdout;
  } catch (e) {
    if (!(e instanceof ToolError) || e.exitCode === null) throw e;
    log.info({ package: pkg }, 'package not in the apt lists; running apt-get update');
    await runTool('apt-get', ['update', '-qq']);
    try {
      out = (await show()).stdout;
    } catch (e2) {
      throw new Error(`kernel package "${pkg}" is not known to apt (after apt-get update)`, { cause: e2 });
    }
  }
  return parseAptShow(out.toString('utf8'), pkg);
}

/** Follows a metapackage (linux-image-cloud-amd64) to the versioned image package it depends on. */
export async function resolveKernelPackage(pkg: string, log: Logger): Promise<AptPackageInfo> {
  let info = await aptShow(pkg, log);
  for (let hops = 0; hops < 3 && !/^linux-image-\d/.test(info.package); hops++) {
    const next = info.depends.find((d) => d.startsWith('linux-image-'));
    if (!next) throw new Error(`kernel package "${pkg}": ${info.package} depends on no linux-image-* package`);
    info = await aptShow(next, log);
  }
  if (!/^linux-image-\d/.test(info.package)) {
    throw new Error(`kernel package "${pkg}" does not resolve to a linux-image-<version> package`);
  }
  return info;
}

/** Does the path exist (any file type)? */
export async function exists(p: string): Promise<boolean> {
  try {
    await access(p);
    return true;
  } catch {
    return false;
  }
}

/** Downloads (or reuses from `debDir`) the .deb of `info`, verified against the apt index SHA256. */
export async function downloadDeb(
  info: AptPackageInfo,
  debDir: string,
  log: Logger,
): Promise<{ deb: string; sha256: string }> {
  await mkdir(debDir, { recursive: true });
  const file = path.join(
    debDir,
    `${info.package}_${info.version.replace(/:/g, '%3a')}_${info.architecture || 'amd64'}.deb`,
  );
  if (await exists(file)) {
    const sha = await sha256File(file);
    if (!info.sha256 || sha === info.sha256) {
      log.info({ step: 'download', package: info.package, cached: true }, `using cached ${path.basename(file)}`);
      return { deb: file, sha256: sha };
    }
    log.warn({ file }, 'cached .deb does not match the apt index; downloading again');
    await rm(file, { force: true });
  }
  log.info(
    { step: 'download', package: info.package, version: info.version },
    `downloading ${info.package} ${info.version}`,
  );
  const tmp = await mkdtemp(path.join(debDir, '.dl-'));
  try {
    await runTool('apt-get', ['download', '-qq', `${info.package}=${info.version}`], { cwd: tmp });
    const got = (await readdir(tmp)).filter((f) => f.endsWith('.deb'));
    if (got.length !== 1) throw new Error(`apt-get download ${info.package}: expected one .deb, got ${got.length}`);
    const src = path.join(tmp, got[0]!);
    const sha = await sha256File(src);
    if (info.sha256 && sha !== info.sha256) {
      throw new Error(`downloaded ${got[0]} has sha256 ${sha}, the apt index says ${info.sha256}; refusing to use it`);
    }
    await rename(src, file);
    return { deb: file, sha256: sha };
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

/** Unpacks a kernel .deb below `unpackRoot/<sha256>` once and locates the kernel and its modules. */
export async function unpackKernelDeb(
  deb: string,
  debSha256: string,
  unpackRoot: string,
  log: Logger,
): Promise<Omit<KernelPackage, 'package' | 'version'>> {
  const dest = path.join(unpackRoot, debSha256.slice(0, 32));
  const marker = path.join(dest, '.complete');
  if (!(await exists(marker))) {
    log.info({ step: 'unpack', deb: path.basename(deb) }, `unpacking ${path.basename(deb)}`);
    await rm(dest, { recursive: true, force: true });
    await mkdir(dest, { recursive: true });
    await runTool('dpkg-deb', ['-x', deb, dest]);
    await writeFile(marker, debSha256 + '\n');
  }
  const boot = path.join(dest, 'boot');
  const vmlinuz = (await readdir(boot).catch(() => [] as string[])).filter((f) => f.startsWith('vmlinuz-'));
  if (vmlinuz.length !== 1) {
    throw new Error(
      `kernel package ${path.basename(deb)}: expected exactly one boot/vmlinuz-*, found ${vmlinuz.length}`,
    );
  }
  const release = vmlinuz[0]!.slice('vmlinuz-'.length);
  let modulesRoot = path.join(dest, 'lib/modules', release);
  if (!(await exists(modulesRoot))) modulesRoot = path.join(dest, 'usr/lib/modules', release);
  if (!(await stat(modulesRoot).catch(() => null))?.isDirectory()) {
    throw new Error(`kernel package ${path.basename(deb)}: no lib/modules/${release} directory`);
  }
  return { deb, debSha256, release, vmlinuz: path.join(boot, vmlinuz[0]!), modulesRoot };
}

/** Kernel from apt (`pkg`) or from a local .deb (`localDeb`, no network). */
export async function obtainKernel(
  opts: { pkg: string; localDeb?: string; cacheDir: string },
  log: Logger,
): Promise<KernelPackage> {
  if (opts.localDeb) {
    const sha = await sha256File(opts.localDeb).catch((e: unknown) => {
      throw new Error(`kernel .deb ${opts.localDeb}: cannot read it`, { cause: e });
    });
    const info = parseAptShow(
      (await runTool('dpkg-deb', ['-f', opts.localDeb, 'Package', 'Version', 'Architecture'])).stdout.toString('utf8'),
      opts.localDeb,
    );
    const k = await unpackKernelDeb(opts.localDeb, sha, path.join(opts.cacheDir, 'kernels'), log);
    return { package: info.package, version: info.version, ...k };
  }
  log.info({ step: 'resolve-kernel', package: opts.pkg }, `resolving ${opts.pkg}`);
  const info = await resolveKernelPackage(opts.pkg, log);
  const { deb, sha256 } = await downloadDeb(info, path.join(opts.cacheDir, 'debs'), log);
  const k = await unpackKernelDeb(deb, sha256, path.join(opts.cacheDir, 'kernels'), log);
  return { package: info.package, version: info.version, ...k };
}
