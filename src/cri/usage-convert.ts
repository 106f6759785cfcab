// cgroup counters in CRI's stats messages, shared by ContainerStats and PodSandboxStats.
import type { CgroupStats, Pressure } from '../cgroup/stats.js';
import type { CpuUsage, IoUsage, MemoryUsage, PsiStats, SwapUsage } from './generated/cri-types.js';

const u64 = (v: bigint): { value: string } => ({ value: v.toString() });

/** CRI's PsiStats: Total is the cumulative stall time in microseconds, as the kernel gives it. */
function psiOf(p: Pressure | null): PsiStats | undefined {
  if (!p) return undefined;
  const line = (l: Pressure['some']) => ({ Total: l.totalUs.toString(), Avg10: l.avg10, Avg60: l.avg60, Avg300: l.avg300 });
  return { Some: line(p.some), ...(p.full ? { Full: line(p.full) } : {}) };
}

export function cpuUsageOf(cg: CgroupStats, timestamp: string, usageNanoCores: bigint | null): CpuUsage {
  const psi = psiOf(cg.psi.cpu);
  return {
    timestamp, usage_core_nano_seconds: u64(cg.cpuUsageNs),
    ...(usageNanoCores !== null ? { usage_nano_cores: u64(usageNanoCores) } : {}),
    ...(psi ? { psi } : {}),
  };
}

export function memoryUsageOf(cg: CgroupStats, timestamp: string): MemoryUsage {
  const psi = psiOf(cg.psi.memory);
  return {
    timestamp,
    working_set_bytes: u64(cg.workingSetBytes),
    // What the limit leaves above the working set (kubelet's eviction signal); no limit, no field.
    ...(cg.memoryLimitBytes !== null
      ? { available_bytes: u64(cg.memoryLimitBytes > cg.workingSetBytes ? cg.memoryLimitBytes - cg.workingSetBytes : 0n) }
      : {}),
    usage_bytes: u64(cg.memoryUsageBytes),
    rss_bytes: u64(cg.rssBytes),
    page_faults: u64(cg.pageFaults),
    major_page_faults: u64(cg.majorPageFaults),
    ...(psi ? { psi } : {}),
  };
}

export function swapUsageOf(cg: CgroupStats, timestamp: string): SwapUsage | undefined {
  if (cg.swapUsageBytes === null) return undefined;
  return {
    timestamp, swap_usage_bytes: u64(cg.swapUsageBytes),
    ...(cg.swapLimitBytes !== null
      ? { swap_available_bytes: u64(cg.swapLimitBytes > cg.swapUsageBytes ? cg.swapLimitBytes - cg.swapUsageBytes : 0n) }
      : {}),
  };
}

export function ioUsageOf(cg: CgroupStats, timestamp: string): IoUsage | undefined {
  const psi = psiOf(cg.psi.io);
  return psi ? { timestamp, psi } : undefined;
}
