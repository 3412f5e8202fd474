/** The `policy_data` layout (same keys and shapes as Kata genpolicy's output, so rules are interchangeable). */

export interface PolicyMount {
  destination: string;
  source: string;
  type_: string;
  options: string[];
}

export interface PolicyStorage {
  driver: string;
  driver_options: string[];
  source: string;
  fstype: string;
  options: string[];
  mount_point: string;
  fs_group: null | { group_id: number; group_change_policy: number };
  shared?: boolean;
}

export interface PolicyDevice {
  id: string;
  type_: string;
  vm_path: string;
  container_path: string;
  options: string[];
}

export interface PolicyCapabilities {
  Ambient: string[];
  Bounding: string[];
  Effective: string[];
  Inheritable: string[];
  Permitted: string[];
}

export interface PolicyOci {
  Version: string;
  Process: {
    Terminal: boolean;
    User: { UID: number; GID: number; AdditionalGids: number[]; Username: string };
    Args: string[];
    Env: string[];
    Cwd: string;
    Capabilities: PolicyCapabilities;
    NoNewPrivileges: boolean;
  };
  Root: { Path: string; Readonly: boolean };
  Mounts: PolicyMount[];
  Annotations: Record<string, string>;
  Linux: {
    Namespaces: { Type: string; Path: string }[];
    MaskedPaths: string[];
    ReadonlyPaths: string[];
    Devices: { Type: string; Path: string }[];
    Sysctl: Record<string, string>;
  };
}

export interface PolicyContainer {
  OCI: PolicyOci;
  storages: PolicyStorage[];
  devices: PolicyDevice[];
  sandbox_pidns: boolean;
  exec_commands: string[][];
  runtime_anno_patterns: Record<string, string>;
}

export interface PolicyData {
  containers: PolicyContainer[];
  common: Record<string, unknown>;
  sandbox: { storages: unknown[] };
  request_defaults: Record<string, unknown>;
  devices: { vfio: { device_path: string; nvidia: Record<string, unknown> } };
  cluster_config: {
    pause_container_image: string;
    guest_pull: boolean;
    emptydir_type: string;
    cgroup_mount_extras_allowed: boolean;
  };
}
