/**
 * Picks kernel modules out of an unpacked kernel package: which of the wanted drivers are built in
 * (`modules.builtin`), which are loadable modules, their dependency closure (from each module's own `.modinfo`
 * `depends=`, because the .deb ships no `modules.dep` — depmod runs at install time) and a load order in which every
 * module comes after its dependencies.
 */
import { readFile, readdir } from 'node:fs/promises';
import { gunzipSync } from 'node:zlib';
import path from 'node:path';
import { readModInfo } from './elf-modinfo.js';
import { runTool } from './run-tool.js';

/**
 * Drivers the guest agent needs: PCI virtio transport, console/serial ports, block, vsock, net, virtio-fs (with fuse,
 * its dependency) for shared container rootfs, overlay, erofs.
 */
export const DEFAULT_GUEST_MODULES: readonly string[] = [
  'virtio_pci',
  'virtio_console',
  'virtio_blk',
  'vsock',
  'vmw_vsock_virtio_transport',
  'virtio_net',
  'virtiofs',
  'overlay',
  'erofs',
  'ext4',
];

export interface KernelModule {
  name: string;
  /** Path below lib/modules/<version>/, without a compression suffix (what we store in the guest). */
  relPath: string;
  /** Uncompressed .ko contents. */
  data: Buffer;
  depends: string[];
}

export interface ModuleSelection {
  /** Wanted names that the kernel has built in (nothing to load). */
  builtin: string[];
  /** Modules to load, dependencies first. */
  modules: KernelModule[];
  /** Text of a modules.dep for the selected modules (lets busybox modprobe work in the guest). */
  modulesDep: string;
}

/** Module names use "_" internally; file names may use "-". */
export function moduleName(s: string): string {
  return s.replace(/-/g, '_');
}

const KO = /\.ko(\.xz|\.zst|\.gz)?$/;

async function listModules(root: string): Promise<Map<string, string>> {
  const byName = new Map<string, string>();
  const walk = async (dir: string): Promise<void> => {
    const ents = await readdir(dir, { withFileTypes: true });
    for (const e of ents) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) await walk(p);
      else if (KO.test(e.name)) byName.set(moduleName(e.name.replace(KO, '')), path.relative(root, p));
    }
  };
  await walk(path.join(root, 'kernel'));
  return byName;
}

async function readKo(file: string): Promise<Buffer> {
  if (file.endsWith('.ko')) return readFile(file);
  if (file.endsWith('.ko.gz')) return gunzipSync(await readFile(file));
  if (file.endsWith('.ko.xz')) return (await runTool('xz', ['-dc', file])).stdout;
  if (file.endsWith('.ko.zst')) return (await runTool('zstd', ['-dcq', file])).stdout;
  throw new Error(`kernel module ${file}: unknown compression`);
}

/**
 * @param modulesRoot lib/modules/<version> of the unpacked kernel package
 * @param wanted module names (either spelling)
 */
export async function selectKernelModules(modulesRoot: string, wanted: readonly string[]): Promise<ModuleSelection> {
  let builtinText: string;
  try {
    builtinText = await readFile(path.join(modulesRoot, 'modules.builtin'), 'utf8');
  } catch (e) {
    throw new Error(
      `kernel package: ${path.join(modulesRoot, 'modules.builtin')} is missing (is this a kernel image package?)`,
      {
        cause: e,
      },
    );
  }
  const builtinSet = new Set(
    builtinText
      .split('\n')
      .filter(Boolean)
      .map((l) => moduleName(path.basename(l).replace(KO, ''))),
  );
  const files = await listModules(modulesRoot);
  const builtin: string[] = [];
  const ordered: KernelModule[] = [];
  const state = new Map<string, 'visiting' | 'done'>();

  const visit = async (name: string, chain: string[], optional: boolean): Promise<void> => {
    if (builtinSet.has(name)) {
      if (!chain.length && !builtin.includes(name)) builtin.push(name);
      return;
    }
    const st = state.get(name);
    if (st === 'done') return;
    if (st === 'visiting') throw new Error(`kernel modules: dependency cycle ${[...chain, name].join(' -> ')}`);
    const rel = files.get(name);
    if (!rel) {
      if (optional) return;
      throw new Error(
        `kernel module "${name}"${chain.length ? ` (needed by ${chain.join(' -> ')})` : ''} is neither built in nor ` +
          `present under ${modulesRoot}/kernel`,
      );
    }
    state.set(name, 'visiting');
    const data = await readKo(path.join(modulesRoot, rel));
    const info = readModInfo(data, rel);
    for (const dep of info.softPre) await visit(moduleName(dep), [...chain, name], true);
    for (const dep of info.depends) await visit(moduleName(dep), [...chain, name], false);
    state.set(name, 'done');
    ordered.push({ name, relPath: rel.replace(/\.(xz|zst|gz)$/, ''), data, depends: info.depends.map(moduleName) });
  };

  for (const w of wanted) await visit(moduleName(w), [], false);

  const relOf = new Map(ordered.map((m) => [m.name, m.relPath]));
  const modulesDep = ordered
    .map(
      (m) =>
        `${m.relPath}:${m.depends
          .map((d) => relOf.get(d))
          .filter(Boolean)
          .map((r) => ' ' + r)
          .join('')}\n`,
    )
    .sort()
    .join('');
  return { builtin: builtin.sort(), modules: ordered, modulesDep };
}
