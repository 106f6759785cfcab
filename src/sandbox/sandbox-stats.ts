// PodSandboxStats: the pod cgroup's CPU, memory and process count, and the network counters
// of the interfaces inside the pod's netns.
import { readCgroupStats, type CgroupStats } from '../cgroup/stats.js';
import type { CgroupMount } from '../cgroup/hierarchy.js';
import { readFile } from 'node:fs/promises';
import { nowNs } from '../time.js';
import { parseProcNetDev, readNetnsCounters, type InterfaceCounters } from './netns-stats.js';
import type { SandboxRecord } from './types.js';

export interface SandboxStats {
  record: SandboxRecord;
  timestampNs: string;
  cgroup: CgroupStats;
  /** Interfaces of the pod's netns except loopback (the host's for host-network pods). */
  interfaces: InterfaceCounters[];
  /** The interface the CNI result put in the pod (eth0), when present. */
  defaultInterface: InterfaceCounters | null;
  /** CPU use since the previous sample of this sandbox, in nanocores; null on the first one. */
  usageNanoCores: bigint | null;
}

/** The previous sample of a sandbox, kept by the caller to compute a rate. */
export interface CpuSample {
  cpuUsageNs: bigint;
  timestampNs: bigint;
}

export async function sandboxStats(record: SandboxRecord, mounts: readonly CgroupMount[], timeoutMs: number,
  previous: CpuSample | undefined): Promise<SandboxStats> {
  const timestampNs = nowNs();
  const cgroup = await readCgroupStats(mounts, record.cgroup.path);
  let interfaces: InterfaceCounters[] = [];
  if (record.hostNetwork) {
    // The pod's network is the host's: its interfaces are the host's.
    interfaces = parseProcNetDev(await readFile('/proc/self/net/dev', 'utf8')).filter((i) => i.name !== 'lo');
  } else if (record.namespaces.net && record.state === 'SANDBOX_READY') {
    try {
      interfaces = (await readNetnsCounters(record.namespaces.net, timeoutMs)).filter((i) => i.name !== 'lo');
    } catch {
      interfaces = []; // the netns went away between the check and the read
    }
  }
  const ifName = record.cni?.ifName ?? 'eth0';
  let usageNanoCores: bigint | null = null;
  const elapsed = previous ? BigInt(timestampNs) - previous.timestampNs : 0n;
  if (previous && elapsed > 0n && cgroup.cpuUsageNs >= previous.cpuUsageNs) {
    usageNanoCores = ((cgroup.cpuUsageNs - previous.cpuUsageNs) * 1_000_000_000n) / elapsed;
  }
  return { record, timestampNs, cgroup, interfaces, defaultInterface: interfaces.find((i) => i.name === ifName) ?? null, usageNanoCores };
}
