/** Where the host's sysfs is. Production reads `/sys`; tests and dry runs point at a fixture tree. */
export interface HostPaths {
  /** The sysfs mount, e.g. `/sys` or `<fixture>/sys`. */
  sysfs: string;
}

export const DEFAULT_HOST_PATHS: HostPaths = { sysfs: '/sys' };

/** `--sysfs ROOT` style option: a fixture root holding `sys/`, or a sysfs mount itself. */
export function hostPathsFromRoot(root: string | undefined): HostPaths {
  if (!root) return DEFAULT_HOST_PATHS;
  return { sysfs: root.endsWith('/sys') || root === '/sys' ? root : `${root.replace(/\/$/, '')}/sys` };
}
