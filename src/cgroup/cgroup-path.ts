// Turning a pod's cgroup_parent into a path in the hierarchy, per driver, and into the form
// the OCI spec's linux.cgroupsPath wants.
import { InvalidArgumentError } from '../errors.js';
import type { CgroupDriver } from './detect.js';

const CGROUPFS_SEGMENT = /^[a-zA-Z0-9_.:@-]+$/;
const SLICE_NAME = /^[a-zA-Z0-9_:.\\@-]+\.slice$/;

/**
 * systemd slice naming: "a-b-c.slice" lives at /a.slice/a-b.slice/a-b-c.slice. "-.slice"
 * is the root slice.
 */
export function expandSlice(slice: string): string {
  if (slice === '-.slice') return '/';
  if (!SLICE_NAME.test(slice)) throw new InvalidArgumentError(`cgroup parent ${JSON.stringify(slice)} is not a systemd slice name (e.g. "kubepods-pod123.slice")`);
  const stem = slice.slice(0, -'.slice'.length);
  if (stem.startsWith('-') || stem.endsWith('-') || stem.includes('--')) {
    throw new InvalidArgumentError(`cgroup parent ${JSON.stringify(slice)} has an empty part between dashes`);
  }
  const parts = stem.split('-');
  let prefix = '';
  let path = '';
  for (const part of parts) {
    prefix = prefix ? `${prefix}-${part}` : part;
    path += `/${prefix}.slice`;
  }
  return path;
}

/** A cgroupfs parent: an absolute path with plain segments (no '..', no '//'). */
export function checkCgroupfsPath(parent: string): string {
  if (!parent.startsWith('/')) throw new InvalidArgumentError(`cgroup parent ${JSON.stringify(parent)} must be an absolute path for the cgroupfs driver`);
  const segments = parent.split('/').filter((s) => s !== '');
  for (const s of segments) {
    if (s === '.' || s === '..' || !CGROUPFS_SEGMENT.test(s)) {
      throw new InvalidArgumentError(`cgroup parent ${JSON.stringify(parent)} has a segment ${JSON.stringify(s)} that is not allowed`);
    }
  }
  return '/' + segments.join('/');
}

export interface PodCgroupPath {
  /** Path of the pod cgroup below each hierarchy's root, e.g. /kubepods/pod123. */
  path: string;
  /**
   * What containers put in their OCI spec's linux.cgroupsPath parent part: the path itself for
   * cgroupfs ("/kubepods/pod123"), the slice name for systemd ("kubepods-pod123.slice").
   */
  parentForContainers: string;
}

/**
 * The pod cgroup: the given cgroup_parent, or keelson's own default parent plus the sandbox id
 * when none was given.
 */
export function podCgroupPath(driver: CgroupDriver, cgroupParent: string, sandboxId: string): PodCgroupPath {
  if (driver === 'systemd') {
    const slice = cgroupParent !== '' ? cgroupParent : `keelson-pod${sandboxId.slice(0, 32)}.slice`;
    return { path: expandSlice(slice), parentForContainers: slice };
  }
  const path = cgroupParent !== '' ? checkCgroupfsPath(cgroupParent) : `/keelson/${sandboxId}`;
  if (path === '/') throw new InvalidArgumentError('cgroup parent "/" is the root cgroup; a pod needs its own');
  return { path, parentForContainers: path };
}
