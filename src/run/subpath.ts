// A volumeMount's subPath on the host, as kubelet makes it: resolved inside its volume
// component by component (an openat2 RESOLVE_BENEATH-like walk, in userspace as
// src/container/oci-spec/rootfs-file.ts does), missing directories created with the volume's own
// mode, and refused when a component is a symlink that leads out of the volume (a container
// that shares the volume could otherwise point a later container's mount at /etc:
// CVE-2017-1002101). Symlinks that stay inside the volume are followed, as kubelet follows them.
// The result is checked once more through an O_PATH fd (the kernel's own view of where the
// path lands). With a pin dir, that fd is bind-mounted there (as kubelet does) and the pin is
// the mount source handed to the runtime: a container that swaps a directory of the path for a
// symlink after the check cannot move the mount, which holds the inode checked.
import { constants } from 'node:fs';
import { chmod, lstat, mkdir, open, readlink, realpath, stat } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative, sep } from 'node:path';
import { InvalidArgumentError } from '../errors.js';

const MAX_SYMLINKS = 40;
/** Linux's O_PATH (not in Node's fs.constants); open(2) takes it through libuv as is. */
const O_PATH = 0o10000000;

function inside(root: string, path: string): boolean {
  return path === root || path.startsWith(root.endsWith(sep) ? root : `${root}${sep}`);
}

/**
 * The host path of `subPath` inside the volume at `volumeRoot`, made when missing. `where` names
 * the mount in errors (`container main volumeMounts[0].subPath "a/b"`).
 */
export async function resolveSubPath(volumeRoot: string, subPath: string, where: string, pinAt?: string): Promise<string> {
  const root = await realpath(volumeRoot);
  const mode = (await stat(root)).mode & 0o7777;
  const refuse = (why: string): never => {
    throw new InvalidArgumentError(`${where}: ${why}; a subPath must stay inside its volume (refused, as kubelet refuses it)`);
  };
  let pending = subPath.split('/').filter((c) => c !== '' && c !== '.');
  const resolved: string[] = [];
  let hops = 0;
  while (pending.length > 0) {
    const component = pending.shift() as string;
    if (component === '..') {
      if (resolved.length === 0) refuse(`".." leads out of the volume`);
      resolved.pop();
      continue;
    }
    const candidate = join(root, ...resolved, component);
    const info = await lstat(candidate).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return null;
      throw err;
    });
    if (info === null) {
      // Missing: a directory, as kubelet makes it (the mode of the volume, whatever the umask).
      await mkdir(candidate, { mode }).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'EEXIST') throw err;
      });
      const made = await lstat(candidate);
      if (made.isSymbolicLink()) { pending.unshift(component); continue; } // raced: walk it as a link
      if (!made.isDirectory()) refuse(`${join(...resolved, component)} is not a directory`);
      await chmod(candidate, mode);
      resolved.push(component);
      continue;
    }
    if (info.isSymbolicLink()) {
      if (++hops > MAX_SYMLINKS) refuse('too many levels of symbolic links');
      const target = await readlink(candidate);
      const shown = `${join(...resolved, component)} is a symlink to ${target}`;
      if (isAbsolute(target)) {
        // Evaluated on the host, as kubelet does: only a target inside the volume is fine.
        if (!inside(root, target)) refuse(`${shown}, outside the volume`);
        resolved.length = 0;
        pending = [...relative(root, target).split(sep).filter((c) => c !== '' && c !== '.'), ...pending];
      } else {
        const rest = target.split('/').filter((c) => c !== '' && c !== '.');
        let depth = resolved.length;
        for (const c of rest) {
          depth += c === '..' ? -1 : 1;
          if (depth < 0) refuse(`${shown}, outside the volume`);
        }
        pending = [...rest, ...pending];
      }
      continue;
    }
    if (pending.length > 0 && !info.isDirectory()) refuse(`${join(...resolved, component)} is not a directory`);
    resolved.push(component);
  }
  // Where the kernel says the path lands now, through an fd that follows no final symlink.
  const fh = await open(join(root, ...resolved), O_PATH | constants.O_NOFOLLOW);
  try {
    const landed = await readlink(`/proc/self/fd/${fh.fd}`);
    const st = await fh.stat();
    if (st.isSymbolicLink() || !inside(root, landed)) refuse(`it resolves to ${landed}, outside the volume`);
    if (pinAt === undefined) return landed;
    await pin(`/proc/self/fd/${fh.fd}`, pinAt, st.isDirectory());
    return pinAt;
  } finally {
    await fh.close();
  }
}

/** Bind-mounts what `source` (an fd's magic link) names onto `target`, replacing an earlier pin. */
async function pin(source: string, target: string, isDirectory: boolean): Promise<void> {
  const { mount, umount } = await import('../native.js');
  await mkdir(dirname(target), { recursive: true, mode: 0o700 });
  if (isDirectory) await mkdir(target, { recursive: true, mode: 0o700 });
  else await (await open(target, 'a', 0o600)).close();
  await unpin(target, umount);
  await mount(source, target, null, ['bind']);
}

/** Takes every mount off target (pins stack when a container is made again). */
export async function unpin(target: string, umount?: (t: string, o: { detach: boolean }) => Promise<void>): Promise<void> {
  const off = umount ?? (await import('../native.js')).umount;
  for (let i = 0; i < 16; i++) {
    try {
      await off(target, { detach: true });
    } catch {
      return; // not (or no longer) a mount point
    }
  }
}
