/**
 * The agent's StatsContainer answer (CgroupStats, in the cgroup v1 units the Kata API uses) as containerd's cgroup v2
 * `io.containerd.cgroups.v2.Metrics`, which `ctr task metrics` and the CRI stats understand.
 */
import { packAny, type Any } from '../protocols/index.js';

export const CGROUP_V2_METRICS = 'io.containerd.cgroups.v2.Metrics';

type Num = number | string | undefined;
interface AgentCgroupStats {
  cpuStats?: {
    cpuUsage?: { totalUsage?: Num; usageInKernelmode?: Num; usageInUsermode?: Num };
    throttlingData?: { periods?: Num; throttledPeriods?: Num; throttledTime?: Num };
  };
  memoryStats?: {
    cache?: Num;
    usage?: { usage?: Num; maxUsage?: Num; limit?: Num; failcnt?: Num };
    swapUsage?: { usage?: Num; limit?: Num };
    stats?: Record<string, Num>;
  };
  pidsStats?: { current?: Num; limit?: Num };
}

const n = (v: Num): number => (v === undefined ? 0 : Number(v));
const usec = (ns: Num): number => Math.floor(n(ns) / 1000);

/** memory.stat keys carried over as they are. */
const MEMORY_STAT_KEYS: Record<string, string> = {
  anon: 'anon',
  file: 'file',
  kernel_stack: 'kernelStack',
  slab: 'slab',
  sock: 'sock',
  shmem: 'shmem',
  file_mapped: 'fileMapped',
  file_dirty: 'fileDirty',
  file_writeback: 'fileWriteback',
  anon_thp: 'anonThp',
  inactive_anon: 'inactiveAnon',
  active_anon: 'activeAnon',
  inactive_file: 'inactiveFile',
  active_file: 'activeFile',
  unevictable: 'unevictable',
  slab_reclaimable: 'slabReclaimable',
  slab_unreclaimable: 'slabUnreclaimable',
  pgfault: 'pgfault',
  pgmajfault: 'pgmajfault',
};

export function cgroupV2Metrics(stats: AgentCgroupStats | undefined): Record<string, unknown> {
  const cpu = stats?.cpuStats;
  const mem = stats?.memoryStats;
  const memory: Record<string, number> = {
    usage: n(mem?.usage?.usage),
    usageLimit: n(mem?.usage?.limit),
    maxUsage: n(mem?.usage?.maxUsage),
    swapUsage: n(mem?.swapUsage?.usage),
    swapLimit: n(mem?.swapUsage?.limit),
  };
  for (const [k, field] of Object.entries(MEMORY_STAT_KEYS)) memory[field] = n(mem?.stats?.[k]);
  return {
    pids: { current: n(stats?.pidsStats?.current), limit: n(stats?.pidsStats?.limit) },
    cpu: {
      usageUsec: usec(cpu?.cpuUsage?.totalUsage),
      userUsec: usec(cpu?.cpuUsage?.usageInUsermode),
      systemUsec: usec(cpu?.cpuUsage?.usageInKernelmode),
      nrPeriods: n(cpu?.throttlingData?.periods),
      nrThrottled: n(cpu?.throttlingData?.throttledPeriods),
      throttledUsec: usec(cpu?.throttlingData?.throttledTime),
    },
    memory,
    memoryEvents: { oomKill: n(mem?.usage?.failcnt) },
  };
}

export function packCgroupV2Metrics(stats: AgentCgroupStats | undefined): Any {
  return packAny(CGROUP_V2_METRICS, cgroupV2Metrics(stats));
}
