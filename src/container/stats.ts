// Cpu and memory of one container, read from its cgroup (v1 controllers, or v2 unified).

import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { CgroupLayout } from '../cgroup/detect.js';

export interface CgroupStats {
  /** Cumulative cpu time, ns. */
  cpuUsageNs: number;
  /** Usage minus inactive file pages (what kubelet evicts on). */
  memoryWorkingSetBytes: number;
  memoryUsageBytes: number;
  /** How often the kernel OOM-killed in this cgroup. */
  oomKills: number;
}

const CGROUP_ROOT = '/sys/fs/cgroup';

async function readNumber(path: string): Promise<number | null> {
  try {
    const n = Number.parseInt((await readFile(path, 'utf8')).trim(), 10);
    return Number.isFinite(n) ? n : null;
  } catch {
    return null;
  }
}

async function readKeyed(path: string): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  try {
    for (const line of (await readFile(path, 'utf8')).split('\n')) {
      const [k, v] = line.split(/\s+/);
      if (k && v !== undefined) out.set(k, Number(v));
    }
  } catch {
    // cgroup gone
  }
  return out;
}

/** The cgroup directory of a cgroupfs cgroupsPath for one v1 controller (or v2). */
export function cgroupDir(layout: CgroupLayout, cgroupsPath: string, controller: string): string {
  return layout === 'v2' ? join(CGROUP_ROOT, cgroupsPath) : join(CGROUP_ROOT, controller, cgroupsPath);
}

/** null when the cgroup does not exist (any more). */
export async function readCgroupStats(layout: CgroupLayout, cgroupsPath: string): Promise<CgroupStats | null> {
  if (layout === 'v2') {
    const dir = cgroupDir(layout, cgroupsPath, '');
    const cpu = await readKeyed(join(dir, 'cpu.stat'));
    const usage = await readNumber(join(dir, 'memory.current'));
    if (usage === null) return null;
    const mem = await readKeyed(join(dir, 'memory.stat'));
    const events = await readKeyed(join(dir, 'memory.events'));
    const inactive = mem.get('inactive_file') ?? 0;
    return {
      cpuUsageNs: (cpu.get('usage_usec') ?? 0) * 1000,
      memoryUsageBytes: usage,
      memoryWorkingSetBytes: Math.max(0, usage - inactive),
      oomKills: events.get('oom_kill') ?? 0,
    };
  }
  const memDir = cgroupDir(layout, cgroupsPath, 'memory');
  const usage = await readNumber(join(memDir, 'memory.usage_in_bytes'));
  if (usage === null) return null;
  const mem = await readKeyed(join(memDir, 'memory.stat'));
  const oomControl = await readKeyed(join(memDir, 'memory.oom_control'));
  const cpu = await readNumber(join(cgroupDir(layout, cgroupsPath, 'cpuacct'), 'cpuacct.usage'));
  const inactive = mem.get('total_inactive_file') ?? 0;
  return {
    cpuUsageNs: cpu ?? 0,
    memoryUsageBytes: usage,
    memoryWorkingSetBytes: Math.max(0, usage - inactive),
    oomKills: oomControl.get('oom_kill') ?? 0,
  };
}
