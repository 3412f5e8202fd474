/**
 * StatsContainer from the container's cgroup v2 files (cpu.stat, memory.current/max/stat, pids.current/max), in
 * the agent API's CgroupStats shape (cpu in nanoseconds as cgroup v1 reported it, which is what the shim expects).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';

function read(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

function num(text: string | undefined): number {
  const t = (text ?? '').trim();
  return /^\d+$/.test(t) ? Number(t) : 0;
}

/** `key value` lines → record. */
export function parseFlatKeyed(text: string | undefined): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of (text ?? '').split('\n')) {
    const [k, v] = line.trim().split(/\s+/);
    if (k && v && /^\d+$/.test(v)) out[k] = Number(v);
  }
  return out;
}

export function cgroupStats(cgroupDir: string) {
  const cpu = parseFlatKeyed(read(path.join(cgroupDir, 'cpu.stat')));
  const memStat = parseFlatKeyed(read(path.join(cgroupDir, 'memory.stat')));
  const memMax = read(path.join(cgroupDir, 'memory.max'))?.trim();
  const pidsMax = read(path.join(cgroupDir, 'pids.max'))?.trim();
  return {
    cpuStats: {
      cpuUsage: {
        totalUsage: (cpu.usage_usec ?? 0) * 1000,
        percpuUsage: [],
        usageInKernelmode: (cpu.system_usec ?? 0) * 1000,
        usageInUsermode: (cpu.user_usec ?? 0) * 1000,
      },
      throttlingData: {
        periods: cpu.nr_periods ?? 0,
        throttledPeriods: cpu.nr_throttled ?? 0,
        throttledTime: (cpu.throttled_usec ?? 0) * 1000,
      },
    },
    memoryStats: {
      cache: memStat.file ?? 0,
      usage: {
        usage: num(read(path.join(cgroupDir, 'memory.current'))),
        maxUsage: num(read(path.join(cgroupDir, 'memory.peak'))),
        failcnt: parseFlatKeyed(read(path.join(cgroupDir, 'memory.events'))).oom ?? 0,
        limit: memMax && /^\d+$/.test(memMax) ? Number(memMax) : 0,
      },
      useHierarchy: true,
      stats: memStat,
    },
    pidsStats: {
      current: num(read(path.join(cgroupDir, 'pids.current'))),
      limit: pidsMax && /^\d+$/.test(pidsMax) ? Number(pidsMax) : 0,
    },
  };
}
