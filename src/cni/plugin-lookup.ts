import { accessSync, constants, statSync } from 'node:fs';
import { join } from 'node:path';
import { FailedPreconditionError } from '../errors.js';

/** The first executable regular file named `type` in the bin dirs, in their order. */
export function findPlugin(type: string, binDirs: readonly string[]): string | null {
  for (const dir of binDirs) {
    const path = join(dir, type);
    try {
      if (!statSync(path).isFile()) continue;
      accessSync(path, constants.X_OK);
      return path;
    } catch {
      // not in this dir
    }
  }
  return null;
}

export function requirePlugin(type: string, binDirs: readonly string[]): string {
  const path = findPlugin(type, binDirs);
  if (!path) {
    throw new FailedPreconditionError(`CNI plugin "${type}" not found in ${binDirs.join(', ')}`);
  }
  return path;
}
