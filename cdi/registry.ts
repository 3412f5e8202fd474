/**
 * The CDI registry: specs from a list of directories (default /etc/cdi, /var/run/cdi), later directories winning,
 * same-directory conflicts making a device unresolvable (pkg/cdi/cache.go semantics, without the file watcher:
 * call `refresh()` to rescan).
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';
import { closestNames, naturalCompare } from './closest-names.js';
import { appendEdits, applyContainerEdits } from './container-edits.js';
import { CdiError, UnresolvableDevicesError, messageOf } from './errors.js';
import { statHostDevice, type StatDevice } from './host-device.js';
import { parseDevice, parseQualifiedName, qualifiedName } from './qualified-name.js';
import { readSpec, type LoadedSpec } from './spec.js';
import type { CdiCompat, CdiDevice, ContainerEdits, OciSpec } from './types.js';

export const DEFAULT_STATIC_DIR = '/etc/cdi';
export const DEFAULT_DYNAMIC_DIR = '/var/run/cdi';
export const DEFAULT_SPEC_DIRS: readonly string[] = [DEFAULT_STATIC_DIR, DEFAULT_DYNAMIC_DIR];

export interface RegistryOptions {
  /** Spec directories in increasing priority. Default /etc/cdi, /var/run/cdi. */
  specDirs?: readonly string[];
  compat?: CdiCompat;
  /** Host device lookup used when injecting; default lstat of the host path. */
  statDevice?: StatDevice;
  logger?: Logger;
}

/** A resolved device: its qualified name, its entry and the spec it came from. */
export interface ResolvedDevice {
  qualifiedName: string;
  device: CdiDevice;
  spec: LoadedSpec;
}

export interface InjectResult {
  /** The edited OCI spec (a new object; the input is untouched). */
  spec: OciSpec;
  /** The injected devices, in request order. */
  devices: ResolvedDevice[];
}

interface Conflict {
  priority: number;
  paths: Set<string>;
}

export class CdiRegistry {
  readonly specDirs: readonly string[];
  readonly compat: CdiCompat;
  private readonly statDevice: StatDevice;
  private readonly logger?: Logger;
  private specs: LoadedSpec[] = [];
  private devices = new Map<string, ResolvedDevice>();
  private conflicts = new Map<string, Conflict>();
  private errors = new Map<string, string[]>();

  constructor(opts: RegistryOptions = {}) {
    this.specDirs = (opts.specDirs && opts.specDirs.length > 0 ? opts.specDirs : DEFAULT_SPEC_DIRS).map((d) =>
      path.normalize(d),
    );
    this.compat = opts.compat ?? 'containerd-2.1';
    this.statDevice = opts.statDevice ?? statHostDevice;
    if (opts.logger) this.logger = opts.logger;
    this.refresh();
  }

  /** Rescans the spec directories. Errors are recorded per file (see `getErrors`), never thrown. */
  refresh(): void {
    const specs: LoadedSpec[] = [];
    const devices = new Map<string, ResolvedDevice>();
    const conflicts = new Map<string, Conflict>();
    const errors = new Map<string, string[]>();
    const record = (file: string, msg: string): void => {
      const list = errors.get(file) ?? [];
      list.push(msg);
      errors.set(file, list);
    };

    this.specDirs.forEach((dir, priority) => {
      let entries: fs.Dirent[];
      try {
        entries = fs.readdirSync(dir, { withFileTypes: true });
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT')
          record(dir, `failed to read CDI spec directory: ${messageOf(e)}`);
        return;
      }
      entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
      for (const entry of entries) {
        if (entry.isDirectory()) continue;
        const ext = path.extname(entry.name);
        if (ext !== '.json' && ext !== '.yaml') continue;
        const file = path.join(dir, entry.name);
        let spec: LoadedSpec;
        try {
          spec = readSpec(file, priority, { compat: this.compat });
        } catch (e) {
          record(file, `failed to load CDI Spec ${messageOf(e)}`);
          this.logger?.warn({ file, err: messageOf(e) }, 'ignoring invalid CDI spec');
          continue;
        }
        specs.push(spec);
        for (const [name, device] of spec.devices) {
          const qualified = qualifiedName(spec.vendor, spec.class, name);
          const other = devices.get(qualified);
          if (other && other.spec.priority === priority) {
            const msg = `conflicting device ${JSON.stringify(qualified)} (specs ${JSON.stringify(file)}, ${JSON.stringify(other.spec.path)})`;
            record(file, msg);
            record(other.spec.path, msg);
            const c = conflicts.get(qualified);
            if (c && c.priority === priority) c.paths.add(file).add(other.spec.path);
            else conflicts.set(qualified, { priority, paths: new Set([other.spec.path, file]) });
            continue;
          }
          devices.set(qualified, { qualifiedName: qualified, device, spec });
        }
      }
    });

    // A conflict makes the device unresolvable unless a later directory defines it again.
    for (const [name, c] of conflicts) {
      const winner = devices.get(name);
      if (winner && winner.spec.priority === c.priority) devices.delete(name);
      else conflicts.delete(name);
    }
    this.specs = specs;
    this.devices = devices;
    this.conflicts = conflicts;
    this.errors = errors;
  }

  /** All resolvable qualified names, sorted. */
  listDevices(): string[] {
    return [...this.devices.keys()].sort();
  }

  /** All kinds (`vendor/class`) with at least one valid spec, sorted. */
  listKinds(): string[] {
    return [...new Set(this.specs.map((s) => `${s.vendor}/${s.class}`))].sort();
  }

  listSpecs(): readonly LoadedSpec[] {
    return this.specs;
  }

  getDevice(name: string): ResolvedDevice | undefined {
    return this.devices.get(name);
  }

  /** Errors by spec file (or directory) path. */
  getErrors(): Map<string, string[]> {
    return new Map([...this.errors].map(([k, v]) => [k, [...v]]));
  }

  /** Explains why one name does not resolve: conflict, known kinds, closest names in its kind. */
  explainUnresolved(name: string): string {
    const conflict = this.conflicts.get(name);
    if (conflict) {
      return `conflicting definitions in specs ${[...conflict.paths].map((p) => JSON.stringify(p)).join(', ')}`;
    }
    const kinds = this.listKinds();
    const known = `known kinds: ${kinds.length > 0 ? kinds.join(', ') : 'none'}`;
    const parsed = parseQualifiedName(name);
    if (!parsed.ok) return `${parsed.error}; ${known}`;
    const { vendor, class: cls, name: dev } = parseDevice(name);
    const kind = `${vendor}/${cls}`;
    if (!kinds.includes(kind)) return `${known}; no spec defines kind ${kind}`;
    const inKind = [...this.devices.values()]
      .filter((d) => d.spec.vendor === vendor && d.spec.class === cls)
      .map((d) => d.qualifiedName.slice(kind.length + 1));
    const closest = closestNames(dev, new Set(inKind));
    return `${known}; ${closest.length > 0 ? `closest in ${kind}: ${closest.join(', ')}` : `no resolvable devices in ${kind}`}`;
  }

  /** Resolves names verbatim (no parsing, as upstream). */
  resolve(names: readonly string[]): { devices: ResolvedDevice[]; unresolved: string[] } {
    const devices: ResolvedDevice[] = [];
    const unresolved: string[] = [];
    for (const n of names) {
      const d = this.devices.get(n);
      if (d) devices.push(d);
      else unresolved.push(n);
    }
    return { devices, unresolved };
  }

  /**
   * Applies the edits of the named devices to a copy of `ociSpec`: each spec's global edits once (before its first
   * device), then the device's own edits. Throws UnresolvableDevicesError naming every unresolved name (upstream
   * prefix `unresolvable CDI devices a, b`, followed by an explanation per name), or CdiError when an edit fails.
   */
  injectDevices(ociSpec: OciSpec, names: readonly string[]): InjectResult {
    if (ociSpec === null || typeof ociSpec !== 'object') throw new CdiError("can't inject devices, nil OCI Spec");
    const { devices, unresolved } = this.resolve(names);
    if (unresolved.length > 0) {
      const why =
        unresolved.length === 1
          ? ` (${this.explainUnresolved(unresolved[0]!)})`
          : unresolved.map((n) => ` (${n}: ${this.explainUnresolved(n)})`).join('');
      throw new UnresolvableDevicesError(`unresolvable CDI devices ${unresolved.join(', ')}${why}`, unresolved);
    }
    let edits: ContainerEdits = {};
    const seenSpecs = new Set<LoadedSpec>();
    for (const d of devices) {
      if (!seenSpecs.has(d.spec)) {
        seenSpecs.add(d.spec);
        edits = appendEdits(edits, d.spec.spec.containerEdits);
      }
      edits = appendEdits(edits, d.device.containerEdits);
    }
    const spec = structuredClone(ociSpec);
    try {
      applyContainerEdits(spec, edits, { statDevice: this.statDevice, compat: this.compat });
    } catch (e) {
      throw new CdiError(`failed to inject devices: ${messageOf(e)}`, { cause: e });
    }
    this.logger?.debug({ devices: devices.map((d) => d.qualifiedName) }, 'injected CDI devices');
    return { spec, devices };
  }
}

/** Functional form of `registry.injectDevices`. */
export function injectDevices(ociSpec: OciSpec, names: readonly string[], registry: CdiRegistry): InjectResult {
  return registry.injectDevices(ociSpec, names);
}

/** Sorts device names the way people expect ("2" before "10"). */
export function sortDeviceNames(names: string[]): string[] {
  return [...names].sort(naturalCompare);
}
