// Writes tar entries into one layer directory, treating the archive as hostile: every name,
// parent and hard-link target is resolved inside the directory as if it were `/`
// (root-scope.ts), so no entry lands outside it; hard links reach only non-directories of
// this layer; whiteouts become overlay whiteouts; limits on entries and bytes hold. Attributes are applied the way the kernel needs them:
// chown before chmod (chown clears setuid/setgid), directory mtimes last.
import { closeSync, constants, fchmodSync, lstatSync, fchownSync, futimesSync, openSync, writeSync, type Stats } from 'node:fs';
import { chmod, lchown, link, lutimes, mkdir, open, rm, symlink, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { KeelsonError } from '../../errors.js';
import { lsetxattr, makeWhiteout, mknod, NativeError } from '../../native.js';
import { FreeSpaceFloor, type PullBudget } from './budget.js';
import { copyDirAttributes, type LowerView } from './lower-view.js';
import { entryComponents, RootScope } from './root-scope.js';
import { OPAQUE_MARKER, OPAQUE_XATTR, WHITEOUT_PREFIX } from './whiteouts.js';


export interface UnpackLimits {
  /** Sum of regular file sizes in one layer. */
  maxLayerBytes: number;
  maxEntries: number;
  /** Free bytes the filesystem must keep (0: no floor). */
  minFreeBytes?: number;
}

/** The subset of a tar-stream header this writer reads. */
export interface TarHeader {
  name: string;
  type?: string | null;
  mode?: number | null;
  uid?: number | null;
  gid?: number | null;
  size?: number | null;
  mtime?: Date | null;
  linkname?: string | null;
  devmajor?: number | null;
  devminor?: number | null;
  pax?: Record<string, string> | null;
}

/** An archive entry that would escape its layer or break a limit; the pull fails on it. */
export class HostileArchiveError extends KeelsonError {
  constructor(message: string) {
    super('FailedPrecondition', message);
    this.name = 'HostileArchiveError';
  }
}

const SMALL_FILE = 1024 * 1024;
const O_NEW_FILE = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;

// Sync: an lstat is a few microseconds, far less than a thread-pool round trip.
async function lstatOrNull(path: string): Promise<Stats | null> {
  return lstatSync(path, { throwIfNoEntry: false }) ?? null;
}

export class LayerWriter {
  readonly #scope: RootScope;
  readonly #dirTimes: Array<{ path: string; mtime: Date }> = [];
  /** Directories made because an entry below them needed a parent (relative, in creation order). */
  readonly implicitDirs: string[] = [];
  /** Directories that had an entry of their own (so their attributes came from the archive). */
  readonly explicitDirs = new Set<string>();
  entries = 0;
  bytes = 0;

  /** @param lower the layers below: parents this layer lacks are resolved in them (see lower-view.ts) */
  readonly #floor: FreeSpaceFloor;

  constructor(readonly root: string, readonly limits: UnpackLimits, readonly what: string, lower: LowerView | null = null,
    readonly budget: PullBudget | null = null) {
    this.#scope = new RootScope(root, lower);
    this.#floor = new FreeSpaceFloor(root, limits.minFreeBytes ?? 0);
  }

  #hostile(name: string, why: string): HostileArchiveError {
    return new HostileArchiveError(`${this.what}: refusing tar entry "${name}": ${why}`);
  }

  /** The components of `value` (the entry's name, or its hard-link target) below the root. */
  #components(name: string, value: string, field: string): string[] {
    return entryComponents(value, field, (why) => this.#hostile(name, why));
  }

  /** The real directory that holds the last of parts, inside the root, relative to it and in full. */
  #parentDir(name: string, parts: readonly string[], create: boolean, field = 'parent'): { rel: string; full: string } {
    const rel = this.#scope.resolveDir(parts.slice(0, -1), {
      create,
      onCreate: (dir, below) => {
        this.implicitDirs.push(dir);
        if (below) {
          const full = join(this.root, dir);
          copyDirAttributes(full, below);
          this.#dirTimes.push({ path: full, mtime: below.mtime });
        }
      },
    }, (why) => this.#hostile(name, `${field} ${why}`));
    return { rel, full: rel === '' ? this.root : join(this.root, rel) };
  }

  #forget(rel: string): void {
    this.#scope.forget(rel);
  }

  /** Removes whatever is at path (recursively for a directory). */
  async #clear(rel: string, full: string, st: Stats | null): Promise<void> {
    if (st === null) return;
    if (st.isDirectory()) {
      await rm(full, { recursive: true, force: true });
      this.#forget(rel);
    } else {
      await unlink(full);
    }
  }

  /** Writes one entry; `body` must be consumed (it is, on every path). */
  async apply(header: TarHeader, body: Readable): Promise<void> {
    try {
      await this.#apply(header, body);
    } finally {
      body.resume();
    }
  }

  async #apply(header: TarHeader, body: Readable): Promise<void> {
    const name = header.name;
    this.entries++;
    if (this.entries > this.limits.maxEntries) throw this.#hostile(name, `more than ${this.limits.maxEntries} entries in one layer`);
    const parts = this.#components(name, name, 'name');
    const type = header.type ?? 'file';
    if (parts.length === 0) {
      // The layer root itself ("/" from umoci, "./" from GNU tar): only a directory's
      // attributes apply; anything else naming the root is skipped, as containerd does.
      if (type === 'directory') await this.#attributes(this.root, header, true);
      return;
    }
    const base = parts[parts.length - 1] as string;

    if (base.startsWith(WHITEOUT_PREFIX)) {
      await this.#whiteout(name, parts, base);
      return;
    }

    const parent = this.#parentDir(name, parts, true);
    const rel = parent.rel === '' ? base : `${parent.rel}/${base}`;
    const full = join(parent.full, base);
    const existing = await lstatOrNull(full);

    switch (type) {
      case 'directory': {
        if (existing?.isDirectory()) {
          // keep contents, refresh attributes
        } else {
          await this.#clear(rel, full, existing);
          await mkdir(full, { mode: 0o700 });
        }
        this.#scope.markDir(rel);
        this.explicitDirs.add(rel);
        await this.#attributes(full, header, true);
        return;
      }
      case 'file':
      case 'contiguous-file': {
        const size = header.size ?? 0;
        this.bytes += size;
        if (this.bytes > this.limits.maxLayerBytes) throw this.#hostile(name, `layer holds more than ${this.limits.maxLayerBytes} bytes of files`);
        this.budget?.take(size, this.what);
        this.#floor.reserve(size, this.what);
        await this.#clear(rel, full, existing);
        if (!(await this.#writeFile(full, body, size, header))) await this.#attributes(full, header, false);
        return;
      }
      case 'symlink': {
        const target = header.linkname ?? '';
        if (target === '' || target.includes('\0')) throw this.#hostile(name, 'symlink with an empty target');
        await this.#clear(rel, full, existing);
        await symlink(target, full);
        await this.#attributes(full, header, false, true);
        return;
      }
      case 'link': {
        const linkname = header.linkname ?? '';
        const targetParts = this.#components(name, linkname, `hard link target "${linkname}"`);
        if (targetParts.length === 0) throw this.#hostile(name, 'hard link to the layer root');
        // The target's parents resolve inside the root like any name; its last component is
        // not followed, so a link to a symlink links the symlink itself.
        const targetParent = this.#parentDir(name, targetParts, false, `hard link target "${linkname}": parent`);
        const targetFull = join(targetParent.full, targetParts[targetParts.length - 1] as string);
        const target = await lstatOrNull(targetFull);
        if (target === null) throw this.#hostile(name, `hard link target "${header.linkname}" is not in this layer`);
        if (target.isDirectory()) throw this.#hostile(name, `hard link target "${header.linkname}" is a directory`);
        if (targetFull === full) return;
        await this.#clear(rel, full, existing);
        // link(2) does not follow a symlink target, so this never reaches outside.
        await link(targetFull, full);
        return;
      }
      case 'character-device':
      case 'block-device':
      case 'fifo': {
        await this.#clear(rel, full, existing);
        const kind = type === 'fifo' ? 'fifo' : type === 'character-device' ? 'char' : 'block';
        mknod(full, kind, (header.mode ?? 0o600) & 0o777, header.devmajor ?? 0, header.devminor ?? 0);
        await this.#attributes(full, header, false);
        return;
      }
      default:
        // Sockets and vendor types carry nothing a container needs.
        return;
    }
  }

  async #whiteout(name: string, parts: readonly string[], base: string): Promise<void> {
    const parent = this.#parentDir(name, parts, true);
    if (base === OPAQUE_MARKER) {
      lsetxattr(parent.full, OPAQUE_XATTR, 'y');
      return;
    }
    const hidden = base.slice(WHITEOUT_PREFIX.length);
    if (hidden === '' || hidden === '.' || hidden === '..') throw this.#hostile(name, `whiteout of "${hidden}"`);
    const full = join(parent.full, hidden);
    const rel = parent.rel === '' ? hidden : `${parent.rel}/${hidden}`;
    await this.#clear(rel, full, await lstatOrNull(full));
    makeWhiteout(full);
  }

  /** Writes a regular file; a small one entirely with sync calls on one fd (attributes included). */
  async #writeFile(full: string, body: Readable, size: number, header: TarHeader): Promise<boolean> {
    if (size <= SMALL_FILE) {
      const chunks: Buffer[] = [];
      for await (const chunk of body as AsyncIterable<Buffer>) chunks.push(chunk);
      // Many small files dominate unpack time: one open fd and no thread-pool round trips
      // per call is several times faster than the async calls, and each call is short.
      const fd = openSync(full, O_NEW_FILE, 0o600);
      try {
        const data = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks);
        let off = 0;
        while (off < data.length) off += writeSync(fd, data, off, data.length - off);
        const uid = header.uid ?? 0;
        const gid = header.gid ?? 0;
        if (uid !== 0 || gid !== 0) fchownSync(fd, uid, gid);
        if (header.pax && Object.keys(header.pax).some((k) => k.startsWith('SCHILY.xattr.'))) return false;
        fchmodSync(fd, (header.mode ?? 0o644) & 0o7777);
        const mtime = header.mtime ?? new Date(0);
        futimesSync(fd, mtime, mtime);
      } finally {
        closeSync(fd);
      }
      return true;
    }
    const handle = await open(full, O_NEW_FILE, 0o600);
    try {
      // tar-stream's entries are streamx streams: iterate rather than stream.pipeline them.
      for await (const chunk of body as AsyncIterable<Buffer>) await handle.write(chunk);
    } finally {
      await handle.close();
    }
    return false;
  }

  async #attributes(full: string, header: TarHeader, isDir: boolean, isSymlink = false): Promise<void> {
    await lchown(full, header.uid ?? 0, header.gid ?? 0);
    for (const [key, value] of Object.entries(header.pax ?? {})) {
      if (!key.startsWith('SCHILY.xattr.')) continue;
      const attr = key.slice('SCHILY.xattr.'.length);
      try {
        lsetxattr(full, attr, Buffer.from(value, 'binary'));
      } catch (err) {
        // A filesystem or LSM without this namespace: the attribute is dropped, as containerd does.
        if (!(err instanceof NativeError && ['ENOTSUP', 'EOPNOTSUPP', 'EPERM', 'EACCES'].includes(err.code))) throw err;
      }
    }
    // After chown, which clears setuid/setgid. Symlinks have no mode of their own on Linux.
    if (!isSymlink) await chmod(full, (header.mode ?? (isDir ? 0o755 : 0o644)) & 0o7777);
    const mtime = header.mtime ?? new Date(0);
    if (isDir) this.#dirTimes.push({ path: full, mtime });
    else await lutimes(full, mtime, mtime);
  }

  /** Directory mtimes, last (writing into a directory changes its mtime), deepest first. */
  async finish(): Promise<void> {
    const done = new Set<string>();
    for (let i = this.#dirTimes.length - 1; i >= 0; i--) {
      const d = this.#dirTimes[i] as { path: string; mtime: Date };
      // The latest entry for a directory wins; earlier times for it are stale.
      if (done.has(d.path)) continue;
      done.add(d.path);
      await lutimes(d.path, d.mtime, d.mtime);
    }
  }
}
