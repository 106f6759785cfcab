import { readFileSync, writeFileSync } from 'node:fs';
import { FailedPreconditionError } from '../errors.js';
import { tryLockFile, type FileLock } from '../native.js';

export interface HeldLocks {
  release(): void;
}

/**
 * Takes an exclusive flock on each lock file, or fails naming what is in use and by whom.
 * flock dies with the process, so a crashed daemon never leaves a lock behind.
 */
export function lockAll(targets: { what: string; lockPath: string }[]): HeldLocks {
  const held: FileLock[] = [];
  const releaseAll = (): void => {
    for (const lock of held.splice(0)) lock.release();
  };
  for (const { what, lockPath } of targets) {
    const lock = tryLockFile(lockPath);
    if (!lock) {
      releaseAll();
      const owner = readOwner(lockPath);
      throw new FailedPreconditionError(
        `another keelson daemon${owner ? ` (pid ${owner})` : ''} is already using ${what}; ` +
          `stop it first or give this one its own --root, --state and --socket`,
      );
    }
    held.push(lock);
    writeFileSync(lockPath, `${process.pid}\n`);
  }
  return { release: releaseAll };
}

function readOwner(lockPath: string): string | null {
  try {
    const pid = readFileSync(lockPath, 'utf8').trim();
    return /^\d+$/.test(pid) ? pid : null;
  } catch {
    return null;
  }
}
