// The merged view of the layers below the one being unpacked, read straight from their
// directories the way overlayfs would show them (whiteouts and opaque dirs honoured,
// symlinks not followed). A layer is unpacked on its own, in parallel with the others;
// only a directory it had to create for an entry's parent is looked up here afterwards:
// when the layers below have a directory there, the new one takes its owner, mode and
// times (an implicit `tmp` stays 1777); when they have a symlink there (merged /usr:
// `lib -> usr/lib`), the layer is unpacked again with that symlink followed.

import { chmodSync, lchownSync, lstatSync, lutimesSync, readlinkSync, type Stats } from 'node:fs';
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { lgetxattr } from '../../native.js';
import { OPAQUE_XATTR } from './whiteouts.js';

export interface LowerEntry {
  /** The layer directory the entry was found in. */
  layer: string;
  stats: Stats;
}

function lstatOrNull(path: string): Stats | null {
  return lstatSync(path, { throwIfNoEntry: false }) ?? null;
}

function isWhiteout(st: Stats): boolean {
  return st.isCharacterDevice() && st.rdev === 0;
}

export class LowerView {
  /** @param layers the layer directories below, the top one first */
  constructor(readonly layers: readonly string[]) {}

  /** What the merged view shows at rel (a path of components, no symlinks followed), or null. */
  lookup(rel: string): LowerEntry | null {
    const parts = rel.split('/').filter((p) => p !== '');
    for (const layer of this.layers) {
      let hidesBelow = false;
      let prefix = layer;
      for (let i = 0; i < parts.length; i++) {
        prefix = join(prefix, parts[i] as string);
        const st = lstatOrNull(prefix);
        if (st === null) break;
        if (i === parts.length - 1) return isWhiteout(st) ? null : { layer, stats: st };
        // A non-directory on the way (file, symlink, whiteout) hides everything below it.
        if (!st.isDirectory()) return null;
        if (lgetxattr(prefix, OPAQUE_XATTR)?.toString() === 'y') hidesBelow = true;
      }
      if (hidesBelow) return null;
    }
    return null;
  }

  /** The target of the symlink the merged view shows at rel. */
  readlink(entry: LowerEntry, rel: string): string {
    return readlinkSync(join(entry.layer, rel));
  }

  /**
   * Whether resolving rel in the merged view meets a symlink on the way (rel itself
   * included): then an entry under rel belongs where that symlink points.
   */
  crossesSymlink(rel: string): boolean {
    const parts = rel.split('/');
    for (let i = 1; i <= parts.length; i++) {
      if (this.lookup(parts.slice(0, i).join('/'))?.stats.isSymbolicLink()) return true;
    }
    return false;
  }
}

/** Gives dir the owner, mode and times of the directory the layers below have there. */
export function copyDirAttributes(dir: string, from: Stats): void {
  lchownSync(dir, from.uid, from.gid);
  chmodSync(dir, from.mode & 0o7777);
  lutimesSync(dir, from.atime, from.mtime);
}

/**
 * After a layer was unpacked on its own: 'unpack-again' when one of the directories it made
 * for parents is, in the layers below, a symlink or under one (the layer must be unpacked
 * again with `lower`, so its entries land where that symlink points); otherwise 'done',
 * each such directory having taken the attributes of the one below it.
 */
export function settleImplicitDirs(fsDir: string, unpacked: { implicitDirs: readonly string[]; explicitDirs: ReadonlySet<string> },
  lower: LowerView): 'unpack-again' | 'done' {
  if (unpacked.implicitDirs.some((d) => lower.crossesSymlink(d))) return 'unpack-again';
  for (const dir of unpacked.implicitDirs) {
    if (unpacked.explicitDirs.has(dir)) continue;
    const below = lower.lookup(dir);
    if (below?.stats.isDirectory()) copyDirAttributes(join(fsDir, dir), below.stats);
  }
  return 'done';
}

/** Removes everything inside dir, keeping dir itself. */
export async function emptyDir(dir: string): Promise<void> {
  for (const name of await readdir(dir)) await rm(join(dir, name), { recursive: true, force: true });
}
