/**
 * cdiVersion handling: which versions are accepted and the minimum version a spec's features require
 * (specs-go/version.go semantics).
 */
import type { CdiCompat, CdiSpec, ContainerEdits } from './types.js';

/** Known versions, newest first (the order the Go code compares by). */
const KNOWN_VERSIONS = ['1.1.0', '1.0.0', '0.8.0', '0.7.0', '0.6.0', '0.5.0', '0.4.0', '0.3.0', '0.2.0', '0.1.0'];
const EARLIEST = '0.3.0';

/** The newest version each compatibility mode knows. */
export const CURRENT_VERSION: Record<CdiCompat, string> = { head: '1.1.0', 'containerd-2.1': '1.0.0' };

function known(compat: CdiCompat): string[] {
  return compat === 'head' ? KNOWN_VERSIONS : KNOWN_VERSIONS.slice(1);
}

function allEdits(spec: CdiSpec): ContainerEdits[] {
  const edits: ContainerEdits[] = spec.devices.map((d) => d.containerEdits ?? {});
  if (spec.containerEdits) edits.push(spec.containerEdits);
  return edits;
}

function requiresV110(spec: CdiSpec): boolean {
  return allEdits(spec).some(
    (e) =>
      (e.netDevices?.length ?? 0) > 0 ||
      (e.intelRdt !== undefined && (e.intelRdt.schemata !== undefined || e.intelRdt.enableMonitoring === true)),
  );
}

function requiresV070(spec: CdiSpec): boolean {
  return allEdits(spec).some((e) => e.intelRdt !== undefined || (e.additionalGids?.length ?? 0) > 0);
}

function requiresV060(spec: CdiSpec): boolean {
  if (Object.keys(spec.annotations ?? {}).length > 0) return true;
  if (spec.devices.some((d) => Object.keys(d.annotations ?? {}).length > 0)) return true;
  const slash = spec.kind.indexOf('/');
  return slash >= 0 && spec.kind.slice(slash + 1).includes('.');
}

function requiresV050(spec: CdiSpec): boolean {
  if (spec.devices.some((d) => d.name.length > 0 && d.name[0]! >= '0' && d.name[0]! <= '9')) return true;
  return allEdits(spec).some((e) => (e.deviceNodes ?? []).some((n) => (n.hostPath ?? '') !== ''));
}

function requiresV040(spec: CdiSpec): boolean {
  return allEdits(spec).some((e) => (e.mounts ?? []).some((m) => (m.type ?? '') !== ''));
}

/** The lowest cdiVersion that covers every feature the spec uses (at least 0.3.0). */
export function minimumRequiredVersion(spec: CdiSpec): string {
  if (requiresV110(spec)) return '1.1.0';
  if (requiresV070(spec)) return '0.7.0';
  if (requiresV060(spec)) return '0.6.0';
  if (requiresV050(spec)) return '0.5.0';
  if (requiresV040(spec)) return '0.4.0';
  return EARLIEST;
}

/** Strips one leading `v`. */
export function normalizeVersion(v: string): string {
  return v.startsWith('v') ? v.slice(1) : v;
}

/** Returns an error message (upstream wording) or undefined when the declared version is acceptable. */
export function validateVersion(spec: CdiSpec, compat: CdiCompat = 'containerd-2.1'): string | undefined {
  const versions = known(compat);
  const declared = normalizeVersion(spec.cdiVersion);
  const idx = versions.indexOf(declared);
  if (idx < 0) return `invalid version ${JSON.stringify(spec.cdiVersion)}`;
  const min = minimumRequiredVersion(spec);
  const minIdx = KNOWN_VERSIONS.indexOf(min);
  if (minIdx < KNOWN_VERSIONS.indexOf(declared)) return `the spec version must be at least v${min}`;
  return undefined;
}
