/**
 * Writing spec files: YAML with a leading `---`, validated first, written atomically (temporary file + rename).
 * Several specs are written all-or-nothing: every one is validated and staged before any is renamed into place.
 */
import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { CdiError, messageOf } from './errors.js';
import { parseQualifier } from './qualified-name.js';
import { loadSpec, type SpecOptions } from './spec.js';
import type { CdiDevice, CdiSpec, ContainerEdits } from './types.js';

/** `vendor-class` (GenerateSpecName). */
export function specName(vendor: string, cls: string): string {
  return `${vendor}-${cls}`;
}

/** File name for a spec: `<vendor>-<class>.yaml`. */
export function specFileName(spec: CdiSpec): string {
  const { vendor, class: cls } = parseQualifier(spec.kind);
  if (vendor === '') throw new CdiError(`invalid vendor/class ${JSON.stringify(spec.kind)} in Spec`);
  return `${specName(vendor, cls)}.yaml`;
}

function orderedEdits(e: ContainerEdits): ContainerEdits {
  const out: ContainerEdits = {};
  if (e.env?.length) out.env = e.env;
  if (e.deviceNodes?.length) {
    out.deviceNodes = e.deviceNodes.map((n) => {
      const o: Record<string, unknown> = { path: n.path };
      for (const k of ['hostPath', 'type', 'major', 'minor', 'fileMode', 'permissions', 'uid', 'gid'] as const) {
        // Go's omitempty: empty strings and zero major/minor are left out; pointer fields (fileMode, uid, gid) are kept
        const zero = n[k] === '' || ((k === 'major' || k === 'minor') && n[k] === 0);
        if (n[k] !== undefined && !zero) o[k] = n[k];
      }
      return o as unknown as (typeof e.deviceNodes)[number];
    });
  }
  if (e.netDevices?.length) out.netDevices = e.netDevices;
  if (e.hooks?.length) out.hooks = e.hooks;
  if (e.mounts?.length) out.mounts = e.mounts;
  if (e.intelRdt) out.intelRdt = e.intelRdt;
  if (e.additionalGids?.length) out.additionalGids = e.additionalGids;
  return out;
}

/** YAML text of a spec in specs-go field order, starting with `---\n`. */
export function specToYaml(spec: CdiSpec): string {
  const doc: Record<string, unknown> = { cdiVersion: spec.cdiVersion, kind: spec.kind };
  if (spec.annotations && Object.keys(spec.annotations).length > 0) doc.annotations = spec.annotations;
  doc.devices = spec.devices.map((d: CdiDevice) => {
    const o: Record<string, unknown> = { name: d.name };
    if (d.annotations && Object.keys(d.annotations).length > 0) o.annotations = d.annotations;
    o.containerEdits = orderedEdits(d.containerEdits);
    return o;
  });
  if (spec.containerEdits) {
    const e = orderedEdits(spec.containerEdits);
    if (Object.keys(e).length > 0) doc.containerEdits = e;
  }
  return `---\n${YAML.stringify(doc)}`;
}

export interface SpecFile {
  /** File name inside the directory (default `<vendor>-<class>.yaml`). */
  name?: string;
  spec: CdiSpec;
}

/**
 * Validates every spec, then writes them all into `dir` atomically. Nothing is left on disk when any spec is
 * invalid or any write fails. Returns the written paths.
 */
export function writeSpecFiles(dir: string, files: readonly SpecFile[], opts: SpecOptions = {}): string[] {
  const staged = files.map((f) => {
    const name = f.name ?? specFileName(f.spec);
    if (name.includes('/') || !/\.(yaml|json)$/.test(name)) {
      throw new CdiError(`invalid CDI spec file name ${JSON.stringify(name)}: want a base name ending .yaml or .json`);
    }
    try {
      loadSpec(f.spec, { path: path.join(dir, name) }, opts);
    } catch (e) {
      throw new CdiError(`refusing to write CDI spec ${JSON.stringify(path.join(dir, name))}: ${messageOf(e)}`, {
        cause: e,
      });
    }
    const text = name.endsWith('.json') ? `${JSON.stringify(f.spec, null, 2)}\n` : specToYaml(f.spec);
    return { target: path.join(dir, name), text };
  });
  const temps: string[] = [];
  try {
    fs.mkdirSync(dir, { recursive: true, mode: 0o755 });
    for (const s of staged) {
      const tmp = path.join(dir, `.${path.basename(s.target)}.${process.pid}.${temps.length}.tmp`);
      temps.push(tmp);
      fs.writeFileSync(tmp, s.text, { mode: 0o644, flag: 'wx' });
    }
    staged.forEach((s, i) => fs.renameSync(temps[i]!, s.target));
  } catch (e) {
    for (const t of temps) fs.rmSync(t, { force: true });
    throw new CdiError(`failed to write Spec file in ${JSON.stringify(dir)}: ${messageOf(e)}`, { cause: e });
  }
  return staged.map((s) => s.target);
}
