// What the spec builder needs from the host and the rootfs, read here so the builder stays pure.

import { existsSync, readFileSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { InvalidArgumentError } from '../errors.js';
import type { ResolvedDevice } from './oci-spec/build.js';
import { capabilitiesFromMask } from './oci-spec/capabilities.js';
import { checkContainerPath } from './oci-spec/mounts.js';
import { readRootfsFile } from './oci-spec/rootfs-file.js';
import { parseGroup, parsePasswd, resolveUser, type ResolvedUser } from './oci-spec/user.js';
import type { ContainerRequest, DeviceRequest } from './types.js';

export async function resolveUserInRootfs(rootfs: string, request: ContainerRequest, imageUser: string | undefined): Promise<ResolvedUser> {
  const [passwd, group] = await Promise.all([readRootfsFile(rootfs, '/etc/passwd'), readRootfsFile(rootfs, '/etc/group')]);
  const sec = request.security;
  return resolveUser({
    runAsUser: sec.runAsUser, runAsGroup: sec.runAsGroup, runAsUsername: sec.runAsUsername,
    supplementalGroups: sec.supplementalGroups, strictGroups: sec.supplementalGroupsPolicy === 'Strict', imageUser,
  }, parsePasswd(passwd), parseGroup(group));
}

export async function resolveDevices(requests: DeviceRequest[]): Promise<ResolvedDevice[]> {
  const out: ResolvedDevice[] = [];
  for (const [i, d] of requests.entries()) {
    const path = checkContainerPath(d.containerPath, `devices[${i}].container_path`);
    const perms = d.permissions === '' ? 'rwm' : d.permissions;
    if (!/^[rwm]{1,3}$/.test(perms)) throw new InvalidArgumentError(`devices[${i}].permissions "${d.permissions}" is not a subset of rwm`);
    const info = await stat(d.hostPath).catch(() => null);
    if (!info || !(info.isCharacterDevice() || info.isBlockDevice())) {
      throw new InvalidArgumentError(`devices[${i}].host_path ${d.hostPath} is not a device on this node`);
    }
    const rdev = info.rdev;
    const major = Number((BigInt(rdev) >> 8n) & 0xfffn) | Number((BigInt(rdev) >> 32n) & ~0xfffn);
    const minor = Number(BigInt(rdev) & 0xffn) | Number((BigInt(rdev) >> 12n) & ~0xffn);
    out.push({
      device: { path, type: info.isBlockDevice() ? 'b' : 'c', major, minor, fileMode: info.mode & 0o777, uid: 0, gid: 0 },
      permissions: perms,
    });
  }
  return out;
}

/** This process's oom_score_adj: children without CAP_SYS_RESOURCE cannot go below it. */
export async function daemonOomScoreAdj(): Promise<number> {
  try {
    return Number.parseInt(await readFile('/proc/self/oom_score_adj', 'utf8'), 10) || 0;
  } catch {
    return 0;
  }
}

export function apparmorEnabled(): boolean {
  return existsSync('/sys/kernel/security/apparmor');
}

let ownCapabilities: string[] | null = null;

/** The capabilities this process holds (CapEff): what a privileged container may have. */
export function daemonCapabilities(): string[] {
  if (!ownCapabilities) {
    const line = /^CapEff:\s*([0-9a-f]+)$/m.exec(readFileSync('/proc/self/status', 'utf8'));
    ownCapabilities = capabilitiesFromMask(line?.[1] ?? '0');
  }
  return ownCapabilities;
}
