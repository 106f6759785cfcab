// The container's mounts: the kernel filesystems every container gets, the pod's files
// (hostname, hosts, resolv.conf, /dev/shm) and the CRI mounts (binds).

import { InvalidArgumentError } from '../../errors.js';
import type { SandboxView } from '../dependencies.js';
import type { OciMount } from './oci-types.js';

export type Propagation = 'PROPAGATION_PRIVATE' | 'PROPAGATION_HOST_TO_CONTAINER' | 'PROPAGATION_BIDIRECTIONAL';

export interface MountRequest {
  containerPath: string;
  hostPath: string;
  readonly: boolean;
  propagation: Propagation;
  recursiveReadOnly: boolean;
  /**
   * An image volume (Mount.image): the image's filesystem, mounted read-only by the image
   * provider; hostPath is filled in with it (and image_sub_path inside it) at create.
   */
  image?: { ref: string; subPath: string } | undefined;
}

const PROPAGATION_OPTION: Record<Propagation, string> = {
  PROPAGATION_PRIVATE: 'rprivate',
  PROPAGATION_HOST_TO_CONTAINER: 'rslave',
  PROPAGATION_BIDIRECTIONAL: 'rshared',
};

/** An absolute path without `..` components (a mount target must not climb out). */
export function checkContainerPath(path: string, field: string): string {
  if (!path.startsWith('/')) throw new InvalidArgumentError(`${field} "${path}" is not an absolute path`);
  if (path.includes('\0')) throw new InvalidArgumentError(`${field} holds a NUL byte`);
  if (path.split('/').includes('..')) throw new InvalidArgumentError(`${field} "${path}" holds a ".." component`);
  const normalized = path.replace(/\/+/g, '/').replace(/\/\.(?=\/|$)/g, '');
  return normalized.length > 1 ? normalized.replace(/\/$/, '') : normalized;
}

export function baseMounts(privileged: boolean): OciMount[] {
  return [
    { destination: '/proc', type: 'proc', source: 'proc', options: ['nosuid', 'noexec', 'nodev'] },
    { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
    { destination: '/dev/pts', type: 'devpts', source: 'devpts',
      options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'] },
    { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
    { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', privileged ? 'rw' : 'ro'] },
    { destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup',
      options: ['nosuid', 'noexec', 'nodev', 'relatime', privileged ? 'rw' : 'ro'] },
  ];
}

/** The pod's files; the ones a CRI mount targets are left to that mount. */
export function podMounts(sandbox: SandboxView, taken: ReadonlySet<string>, readonlyRootfs: boolean): OciMount[] {
  const out: OciMount[] = [];
  const rw = readonlyRootfs ? 'ro' : 'rw';
  const files: Array<[string, string | null]> = [
    ['/etc/hostname', sandbox.files.hostname],
    ['/etc/hosts', sandbox.files.hosts],
    ['/etc/resolv.conf', sandbox.files.resolvConf],
  ];
  for (const [destination, source] of files) {
    if (source && !taken.has(destination)) {
      out.push({ destination, type: 'bind', source, options: ['rbind', 'rprivate', rw] });
    }
  }
  if (!taken.has('/dev/shm')) {
    // null shm means host IPC: the host's /dev/shm, as containerd does.
    const shm = sandbox.files.shm ?? '/dev/shm';
    out.push({ destination: '/dev/shm', type: 'bind', source: shm, options: ['rbind', 'rprivate', 'rw'] });
  }
  return out;
}

export function criMounts(requests: MountRequest[]): OciMount[] {
  const seen = new Set<string>();
  return requests.map((m, i) => {
    const destination = checkContainerPath(m.containerPath, `mounts[${i}].container_path`);
    if (!m.hostPath.startsWith('/')) {
      throw new InvalidArgumentError(`mounts[${i}].host_path "${m.hostPath}" is not an absolute path`);
    }
    if (seen.has(destination)) throw new InvalidArgumentError(`mounts[${i}]: duplicate container_path ${destination}`);
    seen.add(destination);
    if (m.recursiveReadOnly) {
      if (!m.readonly) throw new InvalidArgumentError(`mounts[${i}]: recursive_read_only needs readonly`);
      if (m.propagation !== 'PROPAGATION_PRIVATE') {
        throw new InvalidArgumentError(`mounts[${i}]: recursive_read_only needs private propagation`);
      }
      // runc 1.1 has no "rro" (mount_setattr), so the request cannot be honoured here.
      throw new InvalidArgumentError(`mounts[${i}]: recursive read-only mounts are not supported by this node's OCI runtime`);
    }
    const options = ['rbind', PROPAGATION_OPTION[m.propagation] ?? 'rprivate', m.readonly ? 'ro' : 'rw'];
    // Image volumes are data, as kubelet documents them: read-only and not executable.
    if (m.image) options.push('nosuid', 'nodev', 'noexec');
    return { destination, type: 'bind', source: m.hostPath, options };
  });
}

export const DEFAULT_MASKED_PATHS = [
  '/proc/acpi', '/proc/asound', '/proc/kcore', '/proc/keys', '/proc/latency_stats', '/proc/timer_list',
  '/proc/timer_stats', '/proc/sched_debug', '/proc/scsi', '/sys/firmware', '/sys/devices/virtual/powercap',
];
export const DEFAULT_READONLY_PATHS = ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'];
