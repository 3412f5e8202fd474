/**
 * Static sandbox sizing (Kata `static_sandbox_resource_mgmt`): the VM is started with the configured defaults plus
 * the pod's CPU and memory limits, which containerd passes as sandbox annotations.
 */
import { ConfigError } from '../errors/index.js';
import type { RuntimeConfig } from './types.js';

export const SANDBOX_CPU_QUOTA = 'io.kubernetes.cri.sandbox-cpu-quota';
export const SANDBOX_CPU_PERIOD = 'io.kubernetes.cri.sandbox-cpu-period';
export const SANDBOX_MEMORY = 'io.kubernetes.cri.sandbox-memory';

export interface SandboxSizing {
  vcpus: number;
  memoryMiB: number;
}

function intAnnotation(annotations: Record<string, string>, key: string): number {
  const v = annotations[key];
  if (v === undefined || v === '') return 0;
  if (!/^-?[0-9]+$/.test(v.trim())) {
    throw new ConfigError(`annotation ${key}: expected an integer, got ${JSON.stringify(v)}`, { annotation: key });
  }
  const n = Number(v.trim());
  if (!Number.isSafeInteger(n)) throw new ConfigError(`annotation ${key}: ${v} is out of range`, { annotation: key });
  return n;
}

/**
 * vCPUs and memory for the VM. With `static_sandbox_resource_mgmt` off, the configured defaults. With it on:
 * vcpus = ceil(default_vcpus + quota / period) (quota or period ≤ 0 means no CPU limit), memory = default_memory +
 * floor(limit / MiB) (a negative limit means unlimited and adds nothing). Pure: no host lookups.
 */
export function staticSandboxSizing(config: RuntimeConfig, annotations: Record<string, string>): SandboxSizing {
  const base = { vcpus: config.hypervisor.defaultVcpus, memoryMiB: config.hypervisor.defaultMemory };
  if (!config.runtime.staticSandboxResourceMgmt) return base;
  const quota = intAnnotation(annotations, SANDBOX_CPU_QUOTA);
  const period = intAnnotation(annotations, SANDBOX_CPU_PERIOD);
  const memory = intAnnotation(annotations, SANDBOX_MEMORY);
  const workloadCpus = quota > 0 && period > 0 ? quota / period : 0;
  const workloadMiB = memory > 0 ? Math.floor(memory / (1024 * 1024)) : 0;
  return { vcpus: Math.ceil(base.vcpus + workloadCpus), memoryMiB: base.memoryMiB + workloadMiB };
}
