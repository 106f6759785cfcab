// The pod cgroup in every hierarchy: created (with the levels above it that are missing) at
// RunPodSandbox, limited by the pod's resources, read for stats, removed at RemovePodSandbox.
import { existsSync } from 'node:fs';
import { mkdir, readFile, rmdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { InvalidArgumentError, messageOf } from '../errors.js';
import { type CgroupMount, v1MountOf, v2Mount } from './hierarchy.js';

export interface PodResources {
  cpuShares?: number;
  cpuQuota?: number;
  cpuPeriod?: number;
  memoryLimitBytes?: number;
  cpusetCpus?: string;
  cpusetMems?: string;
  /** cgroup v2 files to write as given (only on a v2 host). */
  unified?: Record<string, string>;
}

export interface CreatedCgroup {
  /** Every directory this call made, top-down; removal goes bottom-up over exactly these. */
  createdDirs: string[];
  /** Absolute pod cgroup dir in each hierarchy. */
  dirs: string[];
}

const V2_CONTROLLERS = ['cpu', 'cpuset', 'memory', 'pids', 'io', 'hugetlb'];
const CPUSET_VALUE = /^[0-9,-]*$/;
const UNIFIED_KEY = /^[a-z]+\.[a-z0-9_.]+$/;

/** Hierarchies the pod cgroup lives in: every v1 one, plus the v2 one (alone on v2, beside v1 on hybrid). */
function hierarchies(mounts: readonly CgroupMount[]): CgroupMount[] {
  return mounts.filter((m) => m.version === 1 || m.version === 2);
}

export async function createPodCgroup(mounts: readonly CgroupMount[], path: string): Promise<CreatedCgroup> {
  const created: CreatedCgroup = { createdDirs: [], dirs: [] };
  const segments = path.split('/').filter((s) => s !== '');
  try {
    for (const mount of hierarchies(mounts)) {
      // A shared parent may be removed by another pod's removal between our check and our
      // mkdir (ENOENT): walk the path again.
      for (let attempt = 0; ; attempt++) {
        try {
          created.dirs.push(await createLevels(mount, segments, created.createdDirs));
          break;
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || attempt >= 5) throw err;
        }
      }
    }
  } catch (err) {
    await removeCgroupDirs(created.createdDirs, path).catch(() => undefined);
    throw new Error(`cannot create pod cgroup ${path}: ${messageOf(err)}`, { cause: err });
  }
  return created;
}

/** Makes each missing level of the path below one hierarchy's root; returns the pod's dir. */
async function createLevels(mount: CgroupMount, segments: readonly string[], createdDirs: string[]): Promise<string> {
  let dir = mount.path;
  for (const segment of segments) {
    const parent = dir;
    dir = join(dir, segment);
    if (existsSync(dir)) continue;
    if (mount.version === 2) await enableV2Controllers(parent);
    try {
      await mkdir(dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') continue; // another pod made it meanwhile
      throw err;
    }
    createdDirs.push(dir);
    if (mount.controllers.includes('cpuset')) await inheritCpuset(parent, dir);
  }
  return dir;
}

/** v2 needs controllers enabled in the parent's subtree_control before a child can use them. */
async function enableV2Controllers(parent: string): Promise<void> {
  let available: string[];
  try {
    available = (await readFile(join(parent, 'cgroup.controllers'), 'utf8')).trim().split(/\s+/).filter(Boolean);
  } catch {
    return;
  }
  const wanted = V2_CONTROLLERS.filter((c) => available.includes(c));
  if (wanted.length === 0) return;
  await writeFile(join(parent, 'cgroup.subtree_control'), wanted.map((c) => `+${c}`).join(' ')).catch(() => undefined);
}

/** A new v1 cpuset cgroup starts with no cpus and mems, and no task may join it until set. */
async function inheritCpuset(parent: string, dir: string): Promise<void> {
  for (const file of ['cpuset.cpus', 'cpuset.mems']) {
    const value = (await readFile(join(parent, file), 'utf8')).trim();
    await writeFile(join(dir, file), value);
  }
}

/**
 * Removes the dirs a pod created, bottom-up. The pod's own cgroup (a dir ending in podPath)
 * must go, and is retried briefly while busy; the levels above it may be shared with other
 * pods created later, so they are tried once and left when not empty.
 */
export async function removeCgroupDirs(createdDirs: readonly string[], podPath: string,
  opts: { alsoTryParentOf?: readonly string[] } = {}): Promise<void> {
  const errors: string[] = [];
  const leafSuffix = '/' + podPath.split('/').filter((s) => s !== '').join('/');
  // Parents shared by pods (keelson's own default parent) go when the last pod leaves them.
  const parents = (opts.alsoTryParentOf ?? []).map((d) => dirname(d)).filter((d) => !createdDirs.includes(d));
  for (const dir of [...createdDirs].reverse().concat(parents)) {
    const leaf = dir.endsWith(leafSuffix);
    for (let attempt = 0; ; attempt++) {
      try {
        await rmdir(dir);
        break;
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'ENOENT') break;
        if (!leaf && (code === 'EBUSY' || code === 'ENOTEMPTY')) break;
        if (code === 'EBUSY' && attempt < 20) {
          await new Promise((r) => setTimeout(r, 50));
          continue;
        }
        errors.push(`${dir}: ${messageOf(err)}`);
        break;
      }
    }
  }
  if (errors.length > 0) throw new Error(`cannot remove cgroups: ${errors.join('; ')}`);
}

/** Checks values before any file is written, so bad input changes nothing. */
export function checkPodResources(r: PodResources): void {
  for (const [name, v] of [['cpu_shares', r.cpuShares], ['cpu_quota', r.cpuQuota], ['cpu_period', r.cpuPeriod],
    ['memory_limit_in_bytes', r.memoryLimitBytes]] as const) {
    if (v !== undefined && (!Number.isSafeInteger(v) || v < 0)) throw new InvalidArgumentError(`linux.resources.${name} ${v} is out of range`);
  }
  if (r.cpuPeriod !== undefined && r.cpuPeriod !== 0 && (r.cpuPeriod < 1000 || r.cpuPeriod > 1_000_000)) {
    throw new InvalidArgumentError(`linux.resources.cpu_period ${r.cpuPeriod} must be between 1000 and 1000000 microseconds`);
  }
  for (const [name, v] of [['cpuset_cpus', r.cpusetCpus], ['cpuset_mems', r.cpusetMems]] as const) {
    if (v !== undefined && !CPUSET_VALUE.test(v)) throw new InvalidArgumentError(`linux.resources.${name} ${JSON.stringify(v)} is not a cpu list`);
  }
  for (const [key, value] of Object.entries(r.unified ?? {})) {
    if (!UNIFIED_KEY.test(key) || key.startsWith('cgroup.')) throw new InvalidArgumentError(`linux.resources.unified key ${JSON.stringify(key)} is not allowed`);
    if (/[\n\0]/.test(value)) throw new InvalidArgumentError(`linux.resources.unified[${key}] has a newline or NUL`);
  }
}

/** Writes the limits into the pod cgroup of each hierarchy that has the controller. */
export async function applyPodResources(mounts: readonly CgroupMount[], path: string, r: PodResources): Promise<void> {
  const v2 = v2Mount(mounts);
  const v1 = (c: string): string | undefined => {
    const m = v1MountOf(mounts, c);
    return m ? join(m.path, path) : undefined;
  };
  const write = async (dir: string | undefined, file: string, value: string): Promise<void> => {
    if (!dir) return;
    try {
      await writeFile(join(dir, file), value);
    } catch (err) {
      throw new InvalidArgumentError(`cannot set ${file}=${value} on the pod cgroup: ${messageOf(err)}`);
    }
  };
  const cpuV1 = v1('cpu');
  if (cpuV1) {
    if (r.cpuShares) await write(cpuV1, 'cpu.shares', String(r.cpuShares));
    if (r.cpuPeriod) await write(cpuV1, 'cpu.cfs_period_us', String(r.cpuPeriod));
    if (r.cpuQuota) await write(cpuV1, 'cpu.cfs_quota_us', String(r.cpuQuota));
  }
  const memV1 = v1('memory');
  if (memV1 && r.memoryLimitBytes) await write(memV1, 'memory.limit_in_bytes', String(r.memoryLimitBytes));
  const cpusetV1 = v1('cpuset');
  if (cpusetV1) {
    if (r.cpusetCpus) await write(cpusetV1, 'cpuset.cpus', r.cpusetCpus);
    if (r.cpusetMems) await write(cpusetV1, 'cpuset.mems', r.cpusetMems);
  }
  // On a pure v2 host the v2 tree holds the controllers; on hybrid it holds none of these.
  if (v2 && !mounts.some((m) => m.version === 1 && m.controllers.length > 0 && !m.controllers.every((c) => c.startsWith('name=')))) {
    const dir = join(v2.path, path);
    if (r.cpuShares) await write(dir, 'cpu.weight', String(sharesToWeight(r.cpuShares)));
    if (r.cpuQuota) await write(dir, 'cpu.max', `${r.cpuQuota} ${r.cpuPeriod || 100000}`);
    if (r.memoryLimitBytes) await write(dir, 'memory.max', String(r.memoryLimitBytes));
    if (r.cpusetCpus) await write(dir, 'cpuset.cpus', r.cpusetCpus);
    if (r.cpusetMems) await write(dir, 'cpuset.mems', r.cpusetMems);
    for (const [key, value] of Object.entries(r.unified ?? {})) await write(dir, key, value);
  }
}

/** The conversion runc and the kernel docs use from v1 shares (2..262144) to v2 weight (1..10000). */
export function sharesToWeight(shares: number): number {
  if (shares <= 2) return 1;
  if (shares >= 262144) return 10000;
  return 1 + Math.floor(((shares - 2) * 9999) / 262142);
}
