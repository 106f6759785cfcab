// CPU, memory, swap, pressure, OOM and process counts of a cgroup, from v1 or v2 files. The one reader for
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
  /** The memory limit, or null when there is none (max, or v1's huge default). */
  memoryLimitBytes: bigint | null;
  /** Swap in use (v2 memory.swap.current; v1 memsw minus memory), null where not accounted. */
  swapUsageBytes: bigint | null;
  /** Swap the cgroup may still use, null when unlimited or not accounted. */
  swapLimitBytes: bigint | null;
  /** Pressure stall information, from the v2 tree (also on a hybrid host); null where the kernel has none. */
  psi: { cpu: Pressure | null; memory: Pressure | null; io: Pressure | null };
}

/** One resource's pressure file: `some` (and `full`) stall shares and total stall time. */
export interface Pressure {
  some: PressureLine;
  full: PressureLine | null;
}
export interface PressureLine {
  avg10: number;
  avg60: number;
  avg300: number;
  /** Cumulative stall time, microseconds. */
  totalUs: bigint;
}

/** v1 reports "no limit" as a page-rounded 2^63-1. */
const V1_UNLIMITED = 1n << 62n;

export function parsePressure(text: string | null): Pressure | null {
  if (text === null) return null;
  const lines = new Map<string, PressureLine>();
  for (const line of text.split('\n')) {
    const m = /^(some|full) avg10=([\d.]+) avg60=([\d.]+) avg300=([\d.]+) total=(\d+)$/.exec(line.trim());
    if (m) lines.set(m[1] as string, { avg10: Number(m[2]), avg60: Number(m[3]), avg300: Number(m[4]), totalUs: BigInt(m[5] as string) });
  }
  const some = lines.get('some');
  return some ? { some, full: lines.get('full') ?? null } : null;
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

/** A v2 limit file: a number, or null for "max" or nothing. */
function limitOf(text: string | null): bigint | null {
  const t = (text ?? '').trim();
  return /^\d+$/.test(t) ? BigInt(t) : null;
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
    memoryLimitBytes: null, swapUsageBytes: null, swapLimitBytes: null, psi: { cpu: null, memory: null, io: null },
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
    const limit = num(await readText(join(dir, 'memory.limit_in_bytes')));
    stats.memoryLimitBytes = limit > 0n && limit < V1_UNLIMITED ? limit : null;
    const memswText = await readText(join(dir, 'memory.memsw.usage_in_bytes'));
    if (memswText !== null) {
      const memsw = num(memswText);
      stats.swapUsageBytes = memsw > usage ? memsw - usage : 0n;
      const memswLimit = num(await readText(join(dir, 'memory.memsw.limit_in_bytes')));
      if (memswLimit > 0n && memswLimit < V1_UNLIMITED) stats.swapLimitBytes = memswLimit - (stats.memoryLimitBytes ?? 0n);
    }
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
    stats.memoryLimitBytes = limitOf(await readText(join(dir, 'memory.max')));
    const swapText = await readText(join(dir, 'memory.swap.current'));
    if (swapText !== null) {
      stats.swapUsageBytes = num(swapText);
      stats.swapLimitBytes = limitOf(await readText(join(dir, 'memory.swap.max')));
    }
  }
  if (v2) {
    const dir = join(v2.path, path);
    const [cpu, memory, io] = await Promise.all(['cpu', 'memory', 'io'].map((r) => readText(join(dir, `${r}.pressure`))));
    stats.psi = { cpu: parsePressure(cpu ?? null), memory: parsePressure(memory ?? null), io: parsePressure(io ?? null) };
  }
  if (pids) stats.processCount = num(await readText(join(pids.path, path, 'pids.current')));
  else if (v2) stats.processCount = num(await readText(join(v2.path, path, 'pids.current')));
  return stats;
}
