/**
 * CDI device-request annotations `cdi.k8s.io/<plugin>_<deviceID>: vendor/class=name[,…]` (pkg/cdi/annotations.go)
 * and CDI names from kubelet PodResources results.
 */
import { CdiError } from './errors.js';
import { isAlphaNumeric, parseQualifiedName } from './qualified-name.js';

export const ANNOTATION_PREFIX = 'cdi.k8s.io/';
const MAX_NAME_LEN = 63;

/** Builds `cdi.k8s.io/<plugin>_<deviceID with '/' → '_'>`; throws on an invalid or too long key. */
export function annotationKey(pluginName: string, deviceID: string): string {
  if (pluginName === '') throw new CdiError('invalid plugin name, empty');
  if (deviceID === '') throw new CdiError('invalid deviceID, empty');
  const name = `${pluginName}_${deviceID.replaceAll('/', '_')}`;
  const q = JSON.stringify(name);
  if (name.length > MAX_NAME_LEN) throw new CdiError(`invalid plugin+deviceID ${q}, too long`);
  const first = name[0]!;
  if (!isAlphaNumeric(first)) throw new CdiError(`invalid name ${q}, first '${first}' should be alphanumeric`);
  if (name.length > 2) {
    for (const c of name.slice(1, -1)) {
      if (!(isAlphaNumeric(c) || c === '_' || c === '-' || c === '.')) {
        throw new CdiError(`invalid name ${q}, invalid character '${c}'`);
      }
    }
  }
  const last = name[name.length - 1]!;
  if (!isAlphaNumeric(last)) throw new CdiError(`invalid name ${q}, last '${last}' should be alphanumeric`);
  return ANNOTATION_PREFIX + name;
}

/** Joins qualified names with ","; throws on the first one that is not fully qualified. */
export function annotationValue(devices: readonly string[]): string {
  for (const d of devices) {
    const r = parseQualifiedName(d);
    if (!r.ok) throw new CdiError(r.error);
  }
  return devices.join(',');
}

/** Returns a copy of `annotations` with a request for `devices` added under the key for (plugin, deviceID). */
export function updateAnnotations(
  annotations: Readonly<Record<string, string>> | undefined,
  pluginName: string,
  deviceID: string,
  devices: readonly string[],
): Record<string, string> {
  let key: string;
  let value: string;
  try {
    key = annotationKey(pluginName, deviceID);
  } catch (e) {
    throw new CdiError(`CDI annotation failed: ${(e as Error).message}`);
  }
  if (annotations && key in annotations) throw new CdiError(`CDI annotation failed, key ${JSON.stringify(key)} used`);
  try {
    value = annotationValue(devices);
  } catch (e) {
    throw new CdiError(`CDI annotation failed: ${(e as Error).message}`);
  }
  return { ...(annotations ?? {}), [key]: value };
}

/**
 * Collects the devices requested by `cdi.k8s.io/*` annotations. Keys are visited in sorted order so results are
 * deterministic. Throws `invalid CDI device name "x"` for any name that is not fully qualified.
 */
export function parseAnnotations(annotations: Readonly<Record<string, string>> | undefined): {
  keys: string[];
  devices: string[];
} {
  const keys: string[] = [];
  const devices: string[] = [];
  for (const key of Object.keys(annotations ?? {}).sort()) {
    if (!key.startsWith(ANNOTATION_PREFIX)) continue;
    for (const d of annotations![key]!.split(',')) {
      if (!parseQualifiedName(d).ok) {
        throw new CdiError(`invalid CDI device name ${JSON.stringify(d)} (annotation ${JSON.stringify(key)})`);
      }
      devices.push(d);
    }
    keys.push(key);
  }
  return { keys, devices };
}

/** Returns a copy without any `cdi.k8s.io/*` key (host kinds must not reach the guest). */
export function withoutCdiAnnotations(
  annotations: Readonly<Record<string, string>> | undefined,
): Record<string, string> {
  return Object.fromEntries(Object.entries(annotations ?? {}).filter(([k]) => !k.startsWith(ANNOTATION_PREFIX)));
}

/** One kubelet PodResources ContainerDevices entry (the fields we use). */
export interface PodResourceDevices {
  resourceName: string;
  deviceIds: readonly string[];
}

/**
 * CDI names `<resourceName>=<deviceId>` for PodResources results, as kata forms them (the resource name is the CDI
 * kind). Order is kept; duplicates are dropped.
 */
export function namesFromPodResources(entries: readonly PodResourceDevices[]): string[] {
  const out: string[] = [];
  for (const e of entries) {
    for (const id of e.deviceIds) {
      const n = `${e.resourceName}=${id}`;
      if (!out.includes(n)) out.push(n);
    }
  }
  return out;
}
