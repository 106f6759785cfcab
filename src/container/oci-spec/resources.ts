// Cgroup resources of the OCI spec from the CRI's LinuxContainerResources.

import { InvalidArgumentError } from '../../errors.js';
import type { ResourceRequest } from '../types.js';
import type { OciResources } from './oci-types.js';

const CPUSET = /^[0-9]+(-[0-9]+)?(,[0-9]+(-[0-9]+)?)*$/;

export function buildResources(req: ResourceRequest): OciResources {
  const out: OciResources = {};
  const cpu: NonNullable<OciResources['cpu']> = {};
  if (req.cpuShares) cpu.shares = nonNegative(req.cpuShares, 'cpu_shares');
  if (req.cpuQuota) cpu.quota = req.cpuQuota;
  if (req.cpuPeriod) cpu.period = nonNegative(req.cpuPeriod, 'cpu_period');
  if (req.cpusetCpus) cpu.cpus = cpuset(req.cpusetCpus, 'cpuset_cpus');
  if (req.cpusetMems) cpu.mems = cpuset(req.cpusetMems, 'cpuset_mems');
  if (Object.keys(cpu).length > 0) out.cpu = cpu;
  if (req.memoryLimit) {
    out.memory = { limit: nonNegative(req.memoryLimit, 'memory_limit_in_bytes') };
    if (req.memorySwapLimit) out.memory.swap = nonNegative(req.memorySwapLimit, 'memory_swap_limit_in_bytes');
  }
  if (req.hugepageLimits && req.hugepageLimits.length > 0) {
    out.hugepageLimits = req.hugepageLimits.map((h) => {
      if (!/^[0-9]+[KMG]B$/.test(h.pageSize)) throw new InvalidArgumentError(`hugepage page_size "${h.pageSize}" is not like 2MB or 1GB`);
      return { pageSize: h.pageSize, limit: nonNegative(h.limit, 'hugepage limit') };
    });
  }
  if (req.unified && Object.keys(req.unified).length > 0) out.unified = { ...req.unified };
  return out;
}

function nonNegative(n: number, field: string): number {
  if (!Number.isSafeInteger(n) || n < 0) throw new InvalidArgumentError(`${field} ${n} must be a non-negative integer`);
  return n;
}

function cpuset(s: string, field: string): string {
  if (!CPUSET.test(s)) throw new InvalidArgumentError(`${field} "${s}" is not a cpu list such as 0-2,4`);
  return s;
}

/**
 * The oom_score_adj the process gets: without CAP_SYS_RESOURCE nothing may go below the
 * daemon's own value, so it is clamped to that (containerd's restrict_oom_score_adj).
 */
export function clampOomScoreAdj(requested: number | undefined, floor: number): { value: number; clamped: boolean } {
  const value = requested ?? 0;
  if (value < -1000 || value > 1000) throw new InvalidArgumentError(`oom_score_adj ${value} is outside -1000..1000`);
  return value < floor ? { value: floor, clamped: true } : { value, clamped: false };
}
