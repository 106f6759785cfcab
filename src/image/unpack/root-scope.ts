// Path resolution inside one layer directory, as if that directory were `/` (chroot
// semantics, containerd's fs.RootPath): a leading `/` is dropped, symlinked parents are
// followed with absolute targets taken from the layer root, and `..` never climbs above it.
// Only entry names that climb above the root lexically are refused (Docker refuses them
// too): no tool writes them, only an attack does. The layer directory is private to its
// writer until the pull commits it, so what lstat/readlink see here cannot change under us.

import { lstatSync, mkdirSync, readlinkSync, type Stats } from 'node:fs';
import { join } from 'node:path';
import type { LowerView } from './lower-view.js';

/** Symlinks followed while resolving one path (Linux's own limit is 40 per lookup). */
export const MAX_LINKS_PER_PATH = 255;

export type ScopeErrorFactory = (why: string) => Error;

/**
 * Splits an archive name into components below the root: `/`, `.` and empty components
 * dropped, `..` applied lexically. Throws (through `fail`) for a NUL byte or a `..` that
 * would climb above the root.
 */
export function entryComponents(name: string, field: string, fail: ScopeErrorFactory): string[] {
  if (name.includes('\0')) throw fail(`${field} contains a NUL byte`);
  const out: string[] = [];
  for (const part of name.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (out.length === 0) throw fail(`${field} climbs above the layer root with ".."`);
      out.pop();
      continue;
    }
    out.push(part);
  }
  return out;
}

function lstatOrNull(path: string): Stats | null {
  return lstatSync(path, { throwIfNoEntry: false }) ?? null;
}

export interface ResolveOptions {
  /** Create missing directories (mode 0755) instead of failing. */
  create: boolean;
  /**
   * Called for each directory created, with its path relative to the root and, when the
   * layers below have a directory there, that directory's attributes.
   */
  onCreate?: (rel: string, below: Stats | null) => void;
}

/** Resolves directory paths within one root; remembers which relative paths are real directories. */
export class RootScope {
  /** Relative paths known to be real directories (never symlinks) inside the root. */
  readonly #realDirs = new Set<string>(['']);

  /** @param lower the layers below, consulted for what this layer lacks (parents only) */
  constructor(readonly root: string, readonly lower: LowerView | null = null) {}

  /**
   * The real directory `parts` names, every symlink on the way followed inside the root,
   * as a path relative to the root ('' for the root itself).
   */
  resolveDir(parts: readonly string[], opts: ResolveOptions, fail: ScopeErrorFactory): string {
    const pending = [...parts].reverse();
    const resolved: string[] = [];
    let links = 0;
    while (pending.length > 0) {
      const part = pending.pop() as string;
      if (part === '' || part === '.') continue;
      if (part === '..') {
        resolved.pop();
        continue;
      }
      const rel = resolved.length === 0 ? part : `${resolved.join('/')}/${part}`;
      if (this.#realDirs.has(rel)) {
        resolved.push(part);
        continue;
      }
      const full = join(this.root, rel);
      const st = lstatOrNull(full);
      const below = st === null ? this.lower?.lookup(rel) ?? null : null;
      if (st?.isSymbolicLink() || below?.stats.isSymbolicLink()) {
        if (++links > MAX_LINKS_PER_PATH) throw fail(`more than ${MAX_LINKS_PER_PATH} symlinks on the way to "${rel}"`);
        const target = below ? (this.lower as LowerView).readlink(below, rel) : readlinkSync(full);
        if (target.startsWith('/')) resolved.length = 0;
        for (const p of target.split('/').reverse()) pending.push(p);
        continue;
      }
      if (st === null) {
        if (!opts.create) throw fail(`"${rel}" does not exist in this layer`);
        mkdirSync(full, { mode: 0o755 });
        opts.onCreate?.(rel, below?.stats.isDirectory() ? below.stats : null);
      } else if (!st.isDirectory()) {
        throw fail(`"${rel}" is not a directory`);
      }
      this.#realDirs.add(rel);
      resolved.push(part);
    }
    return resolved.join('/');
  }

  /** Records that rel is now a real directory. */
  markDir(rel: string): void {
    this.#realDirs.add(rel);
  }

  /** Forgets rel and everything under it (it was removed or replaced). */
  forget(rel: string): void {
    if (rel === '') return;
    for (const d of this.#realDirs) if (d === rel || d.startsWith(`${rel}/`)) this.#realDirs.delete(d);
  }
}
