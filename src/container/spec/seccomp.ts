// Seccomp profiles: keelson's RuntimeDefault (profiles/seccomp-default.json), Unconfined
// (none), Localhost (a JSON file on the node, checked for shape and size).

import { readFileSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { InvalidArgumentError } from '../../errors.js';
import type { SecurityProfileRequest } from '../types.js';
import type { OciSeccomp } from './oci-types.js';

const MAX_PROFILE_BYTES = 1 << 20;
// From dist/container/spec or src/container/spec, the repo root is three levels up.
const DEFAULT_PROFILE_PATH = fileURLToPath(new URL('../../../profiles/seccomp-default.json', import.meta.url));

let defaultProfile: OciSeccomp | null = null;

export function runtimeDefaultSeccomp(): OciSeccomp {
  if (!defaultProfile) {
    const parsed = JSON.parse(readFileSync(DEFAULT_PROFILE_PATH, 'utf8')) as OciSeccomp & { comment?: string };
    delete parsed.comment;
    defaultProfile = checkProfile(parsed, DEFAULT_PROFILE_PATH);
  }
  return structuredClone(defaultProfile);
}

export function checkProfile(value: unknown, from: string): OciSeccomp {
  const p = value as Partial<OciSeccomp> | null;
  if (!p || typeof p !== 'object' || typeof p.defaultAction !== 'string' || !/^SCMP_ACT_[A-Z_]+$/.test(p.defaultAction)) {
    throw new InvalidArgumentError(`seccomp profile ${from}: "defaultAction" must be an SCMP_ACT_* action`);
  }
  if (p.syscalls !== undefined && !Array.isArray(p.syscalls)) {
    throw new InvalidArgumentError(`seccomp profile ${from}: "syscalls" must be a list`);
  }
  for (const [i, rule] of (p.syscalls ?? []).entries()) {
    if (!Array.isArray(rule.names) || typeof rule.action !== 'string') {
      throw new InvalidArgumentError(`seccomp profile ${from}: syscalls[${i}] needs "names" and "action"`);
    }
  }
  const out: OciSeccomp = { defaultAction: p.defaultAction };
  if (p.defaultErrnoRet !== undefined) out.defaultErrnoRet = p.defaultErrnoRet;
  if (p.architectures !== undefined) out.architectures = p.architectures;
  if (p.flags !== undefined) out.flags = p.flags;
  if (p.syscalls !== undefined) out.syscalls = p.syscalls;
  return out;
}

/** The profile for a request; null means unconfined. Privileged containers run unconfined. */
export async function seccompFor(req: SecurityProfileRequest, privileged: boolean): Promise<OciSeccomp | null> {
  if (req.type === 'Unconfined') return null;
  if (req.type === 'RuntimeDefault') return privileged ? null : runtimeDefaultSeccomp();
  const ref = (req.localhostRef ?? '').replace(/^localhost\//, '');
  if (!ref.startsWith('/')) throw new InvalidArgumentError(`seccomp localhost_ref "${ref}" is not an absolute path`);
  const info = await stat(ref).catch(() => null);
  if (!info?.isFile()) throw new InvalidArgumentError(`seccomp localhost_ref ${ref} is not a file on this node`);
  if (info.size > MAX_PROFILE_BYTES) throw new InvalidArgumentError(`seccomp profile ${ref} is larger than 1 MiB`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(ref, 'utf8'));
  } catch (err) {
    throw new InvalidArgumentError(`seccomp profile ${ref} is not JSON: ${(err as Error).message}`);
  }
  return checkProfile(parsed, ref);
}
