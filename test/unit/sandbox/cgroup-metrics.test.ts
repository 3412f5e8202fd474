/** The agent's CgroupStats as containerd's io.containerd.cgroups.v2.Metrics (golden bytes for the field numbers). */
import { describe, expect, it } from 'vitest';
import { cgroupV2Metrics, CGROUP_V2_METRICS, packCgroupV2Metrics } from '../../../src/sandbox/cgroup-metrics.js';
import { messageCodec } from '../../../src/protocols/index.js';

describe('cgroup v2 metrics', () => {
  it('uses upstream field numbers on the wire', () => {
    const any = packCgroupV2Metrics({ pidsStats: { current: 3, limit: 0 } });
    expect(any.typeUrl).toBe(CGROUP_V2_METRICS);
    // pids (1) { current (1) = 3 }, cpu (2) {}, memory (4) {}, memory_events (8) {}
    expect(Buffer.from(any.value).toString('hex')).toBe('0a020803' + '1200' + '2200' + '4200');
  });
  it('converts nanoseconds to microseconds and carries memory.stat keys', () => {
    const m = cgroupV2Metrics({
      cpuStats: {
        cpuUsage: { totalUsage: 1_500_000, usageInKernelmode: 500_000, usageInUsermode: 1_000_000 },
        throttlingData: { periods: 2, throttledPeriods: 1, throttledTime: 7000 },
      },
      memoryStats: {
        usage: { usage: 4096, limit: 67108864, maxUsage: 8192, failcnt: 1 },
        stats: { anon: 100, file: 200, pgfault: 5 },
      },
      pidsStats: { current: 2, limit: 10 },
    });
    expect(m.cpu).toEqual({
      usageUsec: 1500,
      userUsec: 1000,
      systemUsec: 500,
      nrPeriods: 2,
      nrThrottled: 1,
      throttledUsec: 7,
    });
    expect(m.memory).toMatchObject({
      usage: 4096,
      usageLimit: 67108864,
      maxUsage: 8192,
      anon: 100,
      file: 200,
      pgfault: 5,
    });
    const decoded = messageCodec<Record<string, unknown>>(CGROUP_V2_METRICS).decode(
      packCgroupV2Metrics({ memoryStats: { usage: { usage: 4096 } } }).value,
    );
    expect((decoded.memory as { usage: number }).usage).toBe(4096);
  });
});
