// Reading a file inside a container rootfs without ever leaving it: each component is
// resolved by hand, symlinks are followed as if the rootfs were "/" (absolute targets and
// `..` stay inside), like openat2's RESOLVE_IN_ROOT. Used for /etc/passwd and /etc/group,
// which an image controls.

import { lstat, readFile, readlink } from 'node:fs/promises';
import { join } from 'node:path';

const MAX_SYMLINKS = 40;
const MAX_FILE_BYTES = 4 << 20;

/** The host path of `path` resolved inside `root`, or null if something on the way is missing. */
export async function resolveInRoot(root: string, path: string): Promise<string | null> {
  let pending = path.split('/').filter((c) => c !== '' && c !== '.');
  const resolved: string[] = [];
  let hops = 0;
  while (pending.length > 0) {
    const component = pending.shift() as string;
    if (component === '..') {
      resolved.pop();
      continue;
    }
    const candidate = join(root, ...resolved, component);
    let info;
    try {
      info = await lstat(candidate);
    } catch {
      return null;
    }
    if (info.isSymbolicLink()) {
      if (++hops > MAX_SYMLINKS) return null;
      const target = await readlink(candidate);
      if (target.startsWith('/')) resolved.length = 0;
      pending = [...target.split('/').filter((c) => c !== '' && c !== '.'), ...pending];
      continue;
    }
    resolved.push(component);
  }
  return join(root, ...resolved);
}

/** The text of a regular file inside the rootfs, or null when absent (or not a regular file). */
export async function readRootfsFile(root: string, path: string): Promise<string | null> {
  const hostPath = await resolveInRoot(root, path);
  if (!hostPath) return null;
  const info = await lstat(hostPath).catch(() => null);
  if (!info || !info.isFile() || info.size > MAX_FILE_BYTES) return null;
  return readFile(hostPath, 'utf8');
}
