/** The parts of Kubernetes objects the generator reads (plain JSON from YAML). */

export interface ObjectMeta {
  name?: string;
  generateName?: string;
  namespace?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  uid?: string;
}

export interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: {
    configMapKeyRef?: { name: string; key: string; optional?: boolean };
    secretKeyRef?: { name: string; key: string; optional?: boolean };
    fieldRef?: { fieldPath: string; apiVersion?: string };
    resourceFieldRef?: { resource: string; containerName?: string; divisor?: unknown };
  };
}

export interface EnvFromSource {
  prefix?: string;
  configMapRef?: { name: string; optional?: boolean };
  secretRef?: { name: string; optional?: boolean };
}

export interface VolumeMount {
  name: string;
  mountPath: string;
  readOnly?: boolean;
  subPath?: string;
  mountPropagation?: string;
}

export interface ExecAction {
  command?: string[];
}

export interface Probe {
  exec?: ExecAction;
}

export interface SecurityContext {
  runAsUser?: number;
  runAsGroup?: number;
  runAsNonRoot?: boolean;
  privileged?: boolean;
  allowPrivilegeEscalation?: boolean;
  readOnlyRootFilesystem?: boolean;
  capabilities?: { add?: string[]; drop?: string[] };
  supplementalGroups?: number[];
  fsGroup?: number;
  sysctls?: { name: string; value: string }[];
  seLinuxOptions?: unknown;
  seccompProfile?: unknown;
  appArmorProfile?: unknown;
}

export interface Container {
  name: string;
  image: string;
  command?: string[];
  args?: string[];
  workingDir?: string;
  env?: EnvVar[];
  envFrom?: EnvFromSource[];
  volumeMounts?: VolumeMount[];
  volumeDevices?: { name: string; devicePath: string }[];
  securityContext?: SecurityContext;
  tty?: boolean;
  stdin?: boolean;
  livenessProbe?: Probe;
  readinessProbe?: Probe;
  startupProbe?: Probe;
  lifecycle?: { postStart?: { exec?: ExecAction }; preStop?: { exec?: ExecAction } };
  terminationMessagePath?: string;
  resources?: { limits?: Record<string, unknown>; requests?: Record<string, unknown> };
  ports?: unknown[];
}

export interface Volume {
  name: string;
  emptyDir?: { medium?: string; sizeLimit?: unknown };
  configMap?: { name: string; items?: unknown[]; optional?: boolean };
  secret?: { secretName: string; items?: unknown[]; optional?: boolean };
  projected?: { sources?: unknown[] };
  downwardAPI?: unknown;
  hostPath?: { path: string; type?: string };
  persistentVolumeClaim?: { claimName: string; readOnly?: boolean };
  ephemeral?: unknown;
  image?: { reference: string };
}

export interface PodSpec {
  containers: Container[];
  initContainers?: Container[];
  volumes?: Volume[];
  securityContext?: SecurityContext;
  runtimeClassName?: string;
  hostNetwork?: boolean;
  shareProcessNamespace?: boolean;
  automountServiceAccountToken?: boolean;
  serviceAccountName?: string;
  nodeName?: string;
  hostname?: string;
  subdomain?: string;
}
