/**
 * Reading, parsing and validating CDI spec files (pkg/cdi/spec.go semantics and error texts).
 */
import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { isEmptyEdits, validateContainerEdits } from './container-edits.js';
import { CdiError, messageOf } from './errors.js';
import {
  parseQualifier,
  qualifiedName,
  validateClassName,
  validateDeviceName,
  validateVendorName,
} from './qualified-name.js';
import { decodeSpec } from './spec-decode.js';
import type { CdiCompat, CdiDevice, CdiSpec } from './types.js';
import { validateVersion } from './version.js';

export interface SpecOptions {
  /** Default `containerd-2.1` (versions 0.3.0–1.0.0). */
  compat?: CdiCompat;
}

/** A spec that parsed and validated, with where it came from. */
export interface LoadedSpec {
  spec: CdiSpec;
  vendor: string;
  class: string;
  /** Spec file path ("" for specs built in memory). */
  path: string;
  /** Index of the spec directory it came from; higher wins. */
  priority: number;
  /** Devices by (unqualified) name. */
  devices: Map<string, CdiDevice>;
}

/**
 * YAML 1.1 like the Go implementation's parser (so `fileMode: 0666` is octal 438 and `yes` is true), minus what
 * go-yaml v2 does not resolve either: base-60 numbers and timestamps stay strings (`0000:41:00.0` is not a number).
 */
const YAML_OPTIONS = {
  version: '1.1',
  uniqueKeys: true,
  prettyErrors: false,
  strict: true,
  customTags: (tags: YAML.Tags): YAML.Tags =>
    tags.filter((t) => !(typeof t === 'object' && (t.format === 'TIME' || t.tag === 'tag:yaml.org,2002:timestamp'))),
} as const;

/**
 * Parses JSON or YAML text into a spec, strictly (unknown or duplicate keys are errors). Returns null for an empty
 * document. Throws `failed to unmarshal CDI Spec: …`.
 */
export function parseSpecText(text: string, opts: SpecOptions = {}): CdiSpec | null {
  let value: unknown;
  try {
    const doc = YAML.parseDocument(text, YAML_OPTIONS);
    const err = doc.errors[0];
    if (err) throw new Error(err.message);
    value = doc.toJS({ maxAliasCount: 100 });
  } catch (e) {
    throw new CdiError(`failed to unmarshal CDI Spec: ${messageOf(e)}`, { cause: e });
  }
  if (value === null || value === undefined) return null;
  try {
    return decodeSpec(value, opts.compat ?? 'containerd-2.1');
  } catch (e) {
    throw new CdiError(`failed to unmarshal CDI Spec: ${messageOf(e)}`, { cause: e });
  }
}

/**
 * Validates a spec: version, kind, global edits, each device, the device list. Throws `invalid CDI Spec: …` with
 * the upstream wording; returns the devices by name.
 */
export function validateSpec(spec: CdiSpec, opts: SpecOptions = {}): Map<string, CdiDevice> {
  const compat = opts.compat ?? 'containerd-2.1';
  const invalid = (msg: string): never => {
    throw new CdiError(`invalid CDI Spec: ${msg}`);
  };
  const versionErr = validateVersion(spec, compat);
  if (versionErr) invalid(versionErr);
  const { vendor, class: cls } = parseQualifier(spec.kind);
  const kindErr = validateVendorName(vendor) ?? validateClassName(cls);
  if (kindErr) invalid(kindErr);
  const editsErr = validateContainerEdits(spec.containerEdits, compat);
  if (editsErr) invalid(editsErr);
  const devices = new Map<string, CdiDevice>();
  for (const d of spec.devices) {
    const devErr =
      validateDeviceName(d.name) ??
      (isEmptyEdits(d.containerEdits) ? 'invalid device, empty device edits' : undefined) ??
      (() => {
        const e = validateContainerEdits(d.containerEdits, compat);
        return e ? `invalid device ${JSON.stringify(d.name)}: ${e}` : undefined;
      })();
    if (devErr) invalid(`failed add device ${JSON.stringify(d.name)}: ${devErr}`);
    if (devices.has(d.name)) invalid(`invalid spec, multiple device ${JSON.stringify(d.name)}`);
    devices.set(d.name, d);
  }
  if (devices.size === 0) invalid('invalid spec, no devices');
  return devices;
}

/** Validates an in-memory spec and wraps it as a LoadedSpec. */
export function loadSpec(
  spec: CdiSpec,
  where: { path?: string; priority?: number } = {},
  opts: SpecOptions = {},
): LoadedSpec {
  const devices = validateSpec(spec, opts);
  const { vendor, class: cls } = parseQualifier(spec.kind);
  return { spec, vendor, class: cls, path: where.path ?? '', priority: where.priority ?? 0, devices };
}

/** Parses text and validates it; `source` names the file in errors. */
export function parseSpec(text: string, source: string, opts: SpecOptions = {}, priority = 0): LoadedSpec {
  let raw: CdiSpec | null;
  try {
    raw = parseSpecText(text, opts);
  } catch (e) {
    throw new CdiError(`failed to parse CDI Spec ${JSON.stringify(source)}: ${messageOf(e)}`, {
      path: source,
      cause: e,
    });
  }
  if (raw === null)
    throw new CdiError(`failed to parse CDI Spec ${JSON.stringify(source)}, no Spec data`, { path: source });
  try {
    return loadSpec(raw, { path: source, priority }, opts);
  } catch (e) {
    // upstream does not name the file here; we do, after the upstream text
    throw new CdiError(`${messageOf(e)} (spec ${JSON.stringify(source)})`, { path: source, cause: e });
  }
}

/** Reads and validates a spec file. */
export function readSpec(file: string, priority = 0, opts: SpecOptions = {}): LoadedSpec {
  const clean = path.normalize(file);
  let text: string;
  try {
    text = fs.readFileSync(clean, 'utf8');
  } catch (e) {
    throw new CdiError(`failed to read CDI Spec ${JSON.stringify(clean)}: ${messageOf(e)}`, { path: clean, cause: e });
  }
  return parseSpec(text, clean, opts, priority);
}

/** The qualified name of a device of a loaded spec. */
export function deviceQualifiedName(spec: LoadedSpec, device: string): string {
  return qualifiedName(spec.vendor, spec.class, device);
}
