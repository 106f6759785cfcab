// The process of a container: command line, environment and working dir merged from the
// image config and the CRI config the way kubelet expects.

import { posix } from 'node:path';
import { InvalidArgumentError } from '../../errors.js';
import type { ImageConfig } from '../dependencies.js';

export interface KeyValuePair { key: string; value: string }

/**
 * CRI command replaces the image Entrypoint, CRI args replace Cmd; a command given without
 * args drops the image's Cmd (Kubernetes semantics).
 */
export function mergeArgs(image: ImageConfig, command: string[], args: string[]): string[] {
  const entry = command.length > 0 ? command : image.Entrypoint ?? [];
  const rest = args.length > 0 ? args : command.length > 0 ? [] : image.Cmd ?? [];
  const merged = [...entry, ...rest];
  if (merged.length === 0) throw new InvalidArgumentError('no command: neither the container config nor the image names one');
  for (const a of merged) {
    if (a.includes('\0')) throw new InvalidArgumentError('command and args may not contain NUL bytes');
  }
  return merged;
}

function checkEnvName(name: string, from: string): void {
  if (name === '' || /[=\0\n\r]/.test(name)) {
    throw new InvalidArgumentError(`${from}: environment variable name ${JSON.stringify(name)} is empty or holds "=", NUL or a newline`);
  }
}

/** Image env first, CRI envs override by name; order of first appearance is kept. */
export function mergeEnv(image: ImageConfig, envs: KeyValuePair[], extra: KeyValuePair[] = []): string[] {
  const merged = new Map<string, string>();
  for (const entry of image.Env ?? []) {
    const eq = entry.indexOf('=');
    const name = eq < 0 ? entry : entry.slice(0, eq);
    checkEnvName(name, 'image config Env');
    merged.set(name, eq < 0 ? '' : entry.slice(eq + 1));
  }
  for (const { key, value } of envs) {
    checkEnvName(key, 'envs');
    if (value.includes('\0')) throw new InvalidArgumentError(`envs: value of ${key} holds a NUL byte`);
    merged.set(key, value);
  }
  for (const { key, value } of extra) if (!merged.has(key)) merged.set(key, value);
  return [...merged].map(([k, v]) => `${k}=${v}`);
}

// A cwd in a leaked host fd escapes the rootfs (CVE-2024-21626).
const FD_DIR = /^\/proc\/(self|thread-self|[0-9]+)(\/task\/[0-9]+)?\/fd(\/|$)/;

export function resolveWorkingDir(image: ImageConfig, requested: string): string {
  const raw = requested !== '' ? requested : image.WorkingDir || '/';
  if (!raw.startsWith('/')) throw new InvalidArgumentError(`working_dir "${raw}" is not an absolute path`);
  if (raw.includes('\0')) throw new InvalidArgumentError('working_dir holds a NUL byte');
  const cwd = posix.normalize(raw);
  if (FD_DIR.test(cwd) || FD_DIR.test(raw)) {
    throw new InvalidArgumentError(`working_dir "${raw}" points into /proc/*/fd, which could leak a host directory`);
  }
  return cwd;
}
