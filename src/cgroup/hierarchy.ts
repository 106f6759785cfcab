// Where the cgroup hierarchies are mounted, read from /proc/self/mountinfo so that both
// v1 layouts (separate or co-mounted controllers), hybrid and pure v2 are found, not assumed.
import { readFileSync } from 'node:fs';

export interface CgroupMount {
  /** Mount point, e.g. /sys/fs/cgroup/memory. */
  path: string;
  version: 1 | 2;
  /** v1: the controllers of this hierarchy ('name=systemd' for named ones); v2: []. */
  controllers: string[];
}

export function parseCgroupMounts(mountinfo: string): CgroupMount[] {
  const out: CgroupMount[] = [];
  for (const line of mountinfo.split('\n')) {
    const [left, right] = line.split(' - ');
    if (!left || !right) continue;
    const fields = left.split(' ');
    const [fstype, , superOpts = ''] = right.split(' ');
    const root = fields[3];
    const mountPoint = fields[4]?.replace(/\\040/g, ' ');
    if (!mountPoint || root !== '/') continue;
    if (fstype === 'cgroup2') out.push({ path: mountPoint, version: 2, controllers: [] });
    if (fstype === 'cgroup') {
      const known = ['cpu', 'cpuacct', 'cpuset', 'memory', 'devices', 'freezer', 'net_cls', 'blkio',
        'perf_event', 'net_prio', 'hugetlb', 'pids', 'rdma', 'misc'];
      const controllers = superOpts.split(',').filter((o) => known.includes(o) || o.startsWith('name='));
      out.push({ path: mountPoint, version: 1, controllers });
    }
  }
  // A hierarchy mounted twice (bind mounts) is one hierarchy.
  const seen = new Set<string>();
  return out.filter((m) => {
    const key = m.version === 2 ? 'v2' : m.controllers.join(',');
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

export function readCgroupMounts(): CgroupMount[] {
  return parseCgroupMounts(readFileSync('/proc/self/mountinfo', 'utf8'));
}

let hostMounts: CgroupMount[] | undefined;

/** readCgroupMounts(), read once per process: the hierarchies do not move while the daemon runs. */
export function hostCgroupMounts(): readonly CgroupMount[] {
  hostMounts ??= readCgroupMounts();
  return hostMounts;
}

/** The v1 hierarchy holding a controller, if any. */
export function v1MountOf(mounts: readonly CgroupMount[], controller: string): CgroupMount | undefined {
  return mounts.find((m) => m.version === 1 && m.controllers.includes(controller));
}

/** The v2 hierarchy, if mounted (the only one on v2, the "unified" one on hybrid). */
export function v2Mount(mounts: readonly CgroupMount[]): CgroupMount | undefined {
  return mounts.find((m) => m.version === 2);
}
