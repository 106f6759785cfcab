import { accessSync, constants } from 'node:fs';
import { delimiter, isAbsolute, join } from 'node:path';

// Daemons started from minimal environments often lack the sbin dirs in PATH, and runc
// lives in /usr/sbin on Debian: always look there too.
const SYSTEM_DIRS = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];

/** Absolute path of an executable given by absolute path or by name, or null. */
export function findExecutable(nameOrPath: string, searchPath = process.env.PATH ?? ''): string | null {
  if (isAbsolute(nameOrPath)) return isExecutable(nameOrPath) ? nameOrPath : null;
  if (nameOrPath.includes('/')) return null;
  const dirs = [...searchPath.split(delimiter).filter(Boolean), ...SYSTEM_DIRS];
  for (const dir of new Set(dirs)) {
    const candidate = join(dir, nameOrPath);
    if (isExecutable(candidate)) return candidate;
  }
  return null;
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}
