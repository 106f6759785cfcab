// Tar writing for checkpoint archives (the layout CRI-O and Podman write and checkpointctl
// reads): a container's writable layer as rootfs-diff.tar plus deleted.files, and the outer
// archive of a checkpoint dir. Untested against a real CRIU dump on the development machine
// (its CRIU cannot run on that kernel); the rootfs diff part runs on any overlay upper dir.

import { createReadStream, createWriteStream } from 'node:fs';
import { lstat, readdir, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import tar from 'tar-stream';

type Pack = tar.Pack;

/** Paths of the container's own mounts: never part of its file system changes (as Podman's diff). */
const CONTAINER_MOUNTS = new Set(['/dev', '/dev/shm', '/proc', '/run', '/run/.containerenv', '/run/secrets', '/sys']);

/**
 * Writes the changes of an overlay upper dir to `tarPath` (paths relative to the rootfs) and
 * returns the paths it whited out, for deleted.files. Paths that are mount points of the
 * container (`skip`, absolute) are left out with what is under them. An opaque dir is written
 * as itself: what it hides in the layers below is not listed as deleted (the overlay xattr
 * would need the native addon; restore then shows the lower files again).
 */
export async function writeRootfsDiff(upperDir: string, tarPath: string, skip: ReadonlySet<string>): Promise<string[]> {
  const deleted: string[] = [];
  await writeTar(tarPath, async (pack) => {
    await packTree(pack, upperDir, '', (path, st) => {
      const abs = `/${path}`;
      if (CONTAINER_MOUNTS.has(abs) || skip.has(abs)) return 'skip';
      if (st.isCharacterDevice() && st.rdev === 0) {
        deleted.push(abs);
        return 'skip';
      }
      return 'keep';
    });
  });
  return deleted;
}

/** Writes the named top-level entries of `dir` (files or trees) into one uncompressed tar, mode 0600. */
export async function writeArchive(dir: string, names: string[], tarPath: string): Promise<void> {
  await writeTar(tarPath, async (pack) => {
    for (const name of names) await packPath(pack, join(dir, name), name, () => 'keep');
  });
}

async function writeTar(tarPath: string, fill: (pack: Pack) => Promise<void>): Promise<void> {
  const pack = tar.pack();
  // 0600: a checkpoint holds every memory page of the dumped processes (CRI-O does the same).
  const done = pipeline(pack, createWriteStream(tarPath, { mode: 0o600, flags: 'wx' }));
  try {
    await fill(pack);
    pack.finalize();
  } catch (err) {
    pack.destroy(err as Error);
    await done.catch(() => undefined);
    throw err;
  }
  await done;
}

type Verdict = (path: string, st: Awaited<ReturnType<typeof lstat>>) => 'keep' | 'skip';

async function packTree(pack: Pack, dir: string, prefix: string, verdict: Verdict): Promise<void> {
  const names = (await readdir(dir)).sort();
  for (const name of names) await packPath(pack, join(dir, name), prefix ? `${prefix}/${name}` : name, verdict);
}

async function packPath(pack: Pack, path: string, name: string, verdict: Verdict): Promise<void> {
  const st = await lstat(path);
  if (verdict(name, st) === 'skip') return;
  // The full st_mode: tar-stream masks it to 0o7777 and would replace a bare 0 with its default.
  const base = { name, mode: st.mode, uid: st.uid, gid: st.gid, mtime: st.mtime };
  if (st.isDirectory()) {
    await entry(pack, { ...base, type: 'directory' });
    await packTree(pack, path, name, verdict);
  } else if (st.isFile()) {
    await new Promise<void>((resolve, reject) => {
      const sink = pack.entry({ ...base, type: 'file', size: st.size }, (err) => (err ? reject(err) : resolve()));
      createReadStream(path).on('error', reject).pipe(sink);
    });
  } else if (st.isSymbolicLink()) {
    await entry(pack, { ...base, type: 'symlink', linkname: await readlink(path) });
  } else if (st.isCharacterDevice() || st.isBlockDevice()) {
    // Linux dev_t: major in bits 8-19 (and 32+), minor in bits 0-7 and 20-31.
    const devmajor = (st.rdev >> 8) & 0xfff;
    const devminor = (st.rdev & 0xff) | ((st.rdev >> 12) & 0xfff00);
    await entry(pack, { ...base, type: st.isCharacterDevice() ? 'character-device' : 'block-device', devmajor, devminor });
  } else if (st.isFIFO()) {
    await entry(pack, { ...base, type: 'fifo' });
  }
  // sockets are not file system content: left out, as tar does
}

function entry(pack: Pack, header: Partial<tar.Header> & Pick<tar.Header, 'name'>): Promise<void> {
  return new Promise((resolve, reject) => pack.entry(header, (err) => (err ? reject(err) : resolve())));
}
