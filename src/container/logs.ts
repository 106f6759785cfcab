// Where a container's CRI log goes: log_path under the sandbox's log_directory, never outside.

import { isAbsolute, join, relative, resolve } from 'node:path';
import { InvalidArgumentError } from '../errors.js';

/**
 * The absolute log file path, or `fallback` when the pod has no log directory or the
 * container no log path (conmon always needs a file).
 */
export function resolveLogPath(logDirectory: string | null, logPath: string, fallback: string): string {
  if (!logDirectory || logPath === '') return fallback;
  if (!isAbsolute(logDirectory)) throw new InvalidArgumentError(`log_directory "${logDirectory}" is not absolute`);
  if (isAbsolute(logPath)) throw new InvalidArgumentError(`log_path "${logPath}" must be relative to the log directory`);
  if (logPath.includes('\0')) throw new InvalidArgumentError('log_path holds a NUL byte');
  const full = resolve(logDirectory, logPath);
  const rel = relative(resolve(logDirectory), full);
  if (rel === '' || rel.startsWith('..') || isAbsolute(rel)) {
    throw new InvalidArgumentError(`log_path "${logPath}" leaves the log directory ${logDirectory}`);
  }
  return join(resolve(logDirectory), rel);
}
