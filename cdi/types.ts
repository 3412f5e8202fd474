/**
 * CDI spec types (cncf-tags/container-device-interface specs-go, field names as in JSON/YAML) and the small subset
 * of the OCI runtime spec that container edits touch.
 */

export interface CdiSpec {
  cdiVersion: string;
  kind: string;
  annotations?: Record<string, string>;
  devices: CdiDevice[];
  containerEdits?: ContainerEdits;
}

export interface CdiDevice {
  name: string;
  annotations?: Record<string, string>;
  containerEdits: ContainerEdits;
}

export interface ContainerEdits {
  env?: string[];
  deviceNodes?: DeviceNode[];
  /** Added in 1.1.0 (not known to containerd 2.1). */
  netDevices?: LinuxNetDevice[];
  hooks?: Hook[];
  mounts?: Mount[];
  /** Added in 0.7.0. */
  intelRdt?: IntelRdt;
  /** Added in 0.7.0. */
  additionalGids?: number[];
}

export type DeviceNodeType = '' | 'b' | 'c' | 'u' | 'p';

export interface DeviceNode {
  /** Path inside the container. */
  path: string;
  /** Path on the host (0.5.0); defaults to `path`. */
  hostPath?: string;
  type?: string;
  major?: number;
  minor?: number;
  fileMode?: number;
  /** Subset of "rwm"; "none" (HEAD only) gives an allow rule with empty access. */
  permissions?: string;
  uid?: number;
  gid?: number;
}

export interface Mount {
  hostPath: string;
  containerPath: string;
  options?: string[];
  /** Added in 0.4.0. */
  type?: string;
}

export interface Hook {
  hookName: string;
  path: string;
  args?: string[];
  env?: string[];
  timeout?: number;
}

export interface IntelRdt {
  closID?: string;
  l3CacheSchema?: string;
  memBwSchema?: string;
  /** 1.1.0 */
  schemata?: string[];
  /** 1.1.0 */
  enableMonitoring?: boolean;
  /** ≤1.0.x only (dropped in 1.1.0). */
  enableCMT?: boolean;
  /** ≤1.0.x only (dropped in 1.1.0). */
  enableMBM?: boolean;
}

export interface LinuxNetDevice {
  hostInterfaceName: string;
  name: string;
}

/**
 * Which reference implementation to match:
 * - `containerd-2.1` (default): CDI v1.0.x as vendored by containerd 2.1 — versions 0.3.0–1.0.0, no `netDevices`,
 *   no `"none"` permissions, intelRdt has `enableCMT`/`enableMBM`.
 * - `head`: cncf-tags/container-device-interface HEAD — versions up to 1.1.0, `netDevices`, `schemata`,
 *   `enableMonitoring`, `"none"` permissions.
 */
export type CdiCompat = 'containerd-2.1' | 'head';

// ---- OCI runtime spec subset ----

export interface OciLinuxDevice {
  path: string;
  type: string;
  major: number;
  minor: number;
  fileMode?: number;
  uid?: number;
  gid?: number;
}

export interface OciDeviceCgroup {
  allow: boolean;
  type?: string;
  major?: number;
  minor?: number;
  access?: string;
}

export interface OciMount {
  destination: string;
  source?: string;
  type?: string;
  options?: string[];
  [key: string]: unknown;
}

export interface OciHook {
  path: string;
  args?: string[];
  env?: string[];
  timeout?: number;
}

export interface OciHooks {
  prestart?: OciHook[];
  createRuntime?: OciHook[];
  createContainer?: OciHook[];
  startContainer?: OciHook[];
  poststart?: OciHook[];
  poststop?: OciHook[];
  [key: string]: unknown;
}

export interface OciSpec {
  ociVersion?: string;
  process?: {
    env?: string[];
    user?: { uid?: number; gid?: number; additionalGids?: number[]; [key: string]: unknown };
    [key: string]: unknown;
  };
  mounts?: OciMount[];
  hooks?: OciHooks;
  annotations?: Record<string, string>;
  linux?: {
    devices?: OciLinuxDevice[];
    resources?: { devices?: OciDeviceCgroup[]; [key: string]: unknown };
    intelRdt?: Record<string, unknown>;
    netDevices?: Record<string, { name?: string }>;
    namespaces?: { type: string; path?: string }[];
    [key: string]: unknown;
  };
  [key: string]: unknown;
}
