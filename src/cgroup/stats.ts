// CPU, memory, OOM and process counts of a cgroup, from v1 or v2 files. The one reader for
// pod cgroups (sandbox stats) and container cgroups (container stats, OOM detection).
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type CgroupMount, v1MountOf, v2Mount } from './hierarchy.js';

export interface CgroupStats {
  /** false when the memory usage file could not be read: the cgroup does not exist (any more). */
  exists: boolean;
  /** Cumulative cpu time, ns. */
  cpuUsageNs: bigint;
  memoryUsageBytes: bigint;
  /** Usage minus inactive file pages (what kubelet evicts on). */
  workingSetBytes: bigint;
  rssBytes: bigint;
  pageFaults: bigint;
  majorPageFaults: bigint;
  processCount: bigint;
  /** How often the kernel OOM-killed in this cgroup. */
  oomKills: bigint;
}

async function readText(path: string): Promise<string | null> {
  try {
    return await readFile(path, 'utf8');
  } catch {
    return null;
  }
}

function statMap(text: string | null): Map<string, bigint> {
  const out = new Map<string, bigint>();
  for (const line of (text ?? '').split('\n')) {
    const [k, v] = line.trim().split(/\s+/);
    if (k && v && /^\d+$/.test(v)) out.set(k, BigInt(v));
  }
  return out;
}

function num(text: string | null): bigint {
  const t = (text ?? '').trim();
  return /^\d+$/.test(t) ? BigInt(t) : 0n;
}

/** Zeros (and `exists: false`) for whatever cannot be read. */
export async function readCgroupStats(mounts: readonly CgroupMount[], path: string): Promise<CgroupStats> {
  const cpuacct = v1MountOf(mounts, 'cpuacct');
  const memory = v1MountOf(mounts, 'memory');
  const pids = v1MountOf(mounts, 'pids');
  const v2 = v2Mount(mounts);
  const stats: CgroupStats = {
    exists: false, cpuUsageNs: 0n, memoryUsageBytes: 0n, workingSetBytes: 0n, rssBytes: 0n,
    pageFaults: 0n, majorPageFaults: 0n, processCount: 0n, oomKills: 0n,
  };
  if (cpuacct) {
    stats.cpuUsageNs = num(await readText(join(cpuacct.path, path, 'cpuacct.usage')));
  } else if (v2) {
    stats.cpuUsageNs = (statMap(await readText(join(v2.path, path, 'cpu.stat'))).get('usage_usec') ?? 0n) * 1000n;
  }
  if (memory) {
    const dir = join(memory.path, path);
    const usageText = await readText(join(dir, 'memory.usage_in_bytes'));
    const usage = num(usageText);
    const st = statMap(await readText(join(dir, 'memory.stat')));
    const inactive = st.get('total_inactive_file') ?? 0n;
    stats.exists = usageText !== null;
    stats.memoryUsageBytes = usage;
    stats.workingSetBytes = usage > inactive ? usage - inactive : 0n;
    stats.rssBytes = st.get('total_rss') ?? 0n;
    stats.pageFaults = st.get('total_pgfault') ?? 0n;
    stats.majorPageFaults = st.get('total_pgmajfault') ?? 0n;
    stats.oomKills = statMap(await readText(join(dir, 'memory.oom_control'))).get('oom_kill') ?? 0n;
  } else if (v2) {
    const dir = join(v2.path, path);
    const usageText = await readText(join(dir, 'memory.current'));
    const usage = num(usageText);
    const st = statMap(await readText(join(dir, 'memory.stat')));
    const inactive = st.get('inactive_file') ?? 0n;
    stats.exists = usageText !== null;
    stats.memoryUsageBytes = usage;
    stats.workingSetBytes = usage > inactive ? usage - inactive : 0n;
    stats.rssBytes = st.get('anon') ?? 0n;
    stats.pageFaults = st.get('pgfault') ?? 0n;
    stats.majorPageFaults = st.get('pgmajfault') ?? 0n;
    stats.oomKills = statMap(await readText(join(dir, 'memory.events'))).get('oom_kill') ?? 0n;
  }
  if (pids) stats.processCount = num(await readText(join(pids.path, path, 'pids.current')));
  else if (v2) stats.processCount = num(await readText(join(v2.path, path, 'pids.current')));
  return stats;
}
