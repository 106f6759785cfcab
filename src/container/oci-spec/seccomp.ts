// Seccomp profiles: keelson's RuntimeDefault (profiles/seccomp-default.json), Unconfined
// (none), Localhost (a JSON file on the node, checked for shape and size). A profile's rules
// may carry Docker-style conditions (`includes`/`excludes` with `caps`, `arches` and
// `minKernel`), so a
// capability the container was given also opens the syscalls that capability guards; they
// are settled against the container's capabilities (forSpec) before runc sees the profile.

import { readFileSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { release } from 'node:os';
import { fileURLToPath } from 'node:url';
import { InvalidArgumentError } from '../../errors.js';
import type { SecurityProfileRequest } from '../types.js';
import type { OciSeccomp, OciSeccompRule } from './oci-types.js';

/** When a rule applies: every listed condition must hold. */
export interface RuleCondition {
  /** Capabilities (CAP_*), any one of which the container holds. */
  caps?: string[];
  /** Seccomp architectures (e.g. "amd64"); any one of which is this node's. */
  arches?: string[];
  /** The oldest kernel ("4.8") on which the rule applies: this node's must be as new. */
  minKernel?: string;
}

export interface ProfileRule extends OciSeccompRule {
  includes?: RuleCondition;
  excludes?: RuleCondition;
}

/** A seccomp profile as a file gives it: OCI's, rules possibly conditional. */
export interface SeccompProfile extends Omit<OciSeccomp, 'syscalls'> {
  syscalls?: ProfileRule[];
}

const MAX_PROFILE_BYTES = 1 << 20;
// From dist/container/oci-spec or src/container/oci-spec, the repo root is three levels up.
const DEFAULT_PROFILE_PATH = fileURLToPath(new URL('../../../profiles/seccomp-default.json', import.meta.url));

let defaultProfile: SeccompProfile | null = null;

export function runtimeDefaultSeccomp(): SeccompProfile {
  if (!defaultProfile) {
    const parsed = JSON.parse(readFileSync(DEFAULT_PROFILE_PATH, 'utf8')) as SeccompProfile & { comment?: string };
    delete parsed.comment;
    defaultProfile = checkProfile(parsed, DEFAULT_PROFILE_PATH);
  }
  return structuredClone(defaultProfile);
}

export function checkProfile(value: unknown, from: string): SeccompProfile {
  const p = value as Partial<SeccompProfile> | null;
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
    for (const key of ['includes', 'excludes'] as const) {
      const c = rule[key];
      if (c === undefined) continue;
      const lists = c && typeof c === 'object' ? [c.caps, c.arches] : [1];
      if (lists.some((l) => l !== undefined && !(Array.isArray(l) && l.every((x) => typeof x === 'string')))) {
        throw new InvalidArgumentError(`seccomp profile ${from}: syscalls[${i}].${key} must hold lists of strings ("caps", "arches")`);
      }
      if (c.minKernel !== undefined && (typeof c.minKernel !== 'string' || parseKernelVersion(c.minKernel) === null)) {
        throw new InvalidArgumentError(`seccomp profile ${from}: syscalls[${i}].${key}.minKernel must be a kernel version such as "4.8"`);
      }
    }
  }
  const out: SeccompProfile = { defaultAction: p.defaultAction };
  if (p.defaultErrnoRet !== undefined) out.defaultErrnoRet = p.defaultErrnoRet;
  if (p.architectures !== undefined) out.architectures = p.architectures;
  if (p.flags !== undefined) out.flags = p.flags;
  if (p.syscalls !== undefined) out.syscalls = p.syscalls;
  return out;
}

/**
 * The profile for a request; null means unconfined. Privileged containers run unconfined
 * whatever profile is asked for, as in containerd and CRI-O.
 */
export async function seccompFor(req: SecurityProfileRequest, privileged: boolean): Promise<SeccompProfile | null> {
  if (privileged || req.type === 'Unconfined') return null;
  if (req.type === 'RuntimeDefault') return runtimeDefaultSeccomp();
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

/** This node's architecture in the names seccomp profiles' `arches` use. */
function seccompArch(): string {
  return process.arch === 'x64' ? 'amd64' : process.arch;
}

/** "6.18.44-fc-v1045" -> [6, 18]; null when it does not start with major.minor. */
export function parseKernelVersion(release: string): [number, number] | null {
  const m = /^(\d+)\.(\d+)/.exec(release);
  return m ? [Number(m[1]), Number(m[2])] : null;
}

function kernelAtLeast(min: string, kernel: string): boolean {
  const want = parseKernelVersion(min);
  const have = parseKernelVersion(kernel);
  if (!want || !have) return false;
  return have[0] !== want[0] ? have[0] > want[0] : have[1] >= want[1];
}

function holds(c: RuleCondition, caps: ReadonlySet<string>, kernel: string): boolean {
  if (c.caps && !c.caps.some((cap) => caps.has(cap))) return false;
  if (c.arches && !c.arches.includes(seccompArch())) return false;
  if (c.minKernel !== undefined && !kernelAtLeast(c.minKernel, kernel)) return false;
  return true;
}

/**
 * The OCI profile for a container with these capabilities on this kernel (`uname -r`):
 * conditional rules settled, conditions dropped.
 */
export function forSpec(profile: SeccompProfile, capabilities: readonly string[], kernel: string = release()): OciSeccomp {
  const caps = new Set(capabilities);
  const { syscalls, ...rest } = profile;
  const out: OciSeccomp = { ...rest };
  if (syscalls !== undefined) {
    out.syscalls = syscalls
      .filter((r) => (r.includes === undefined || holds(r.includes, caps, kernel)) && (r.excludes === undefined || !holdsAny(r.excludes, caps, kernel)))
      .filter((r) => r.names.length > 0)
      .map(({ includes: _i, excludes: _e, ...rule }) => rule);
  }
  return out;
}

/** An exclusion applies when any of its conditions matches (Docker's reading). */
function holdsAny(c: RuleCondition, caps: ReadonlySet<string>, kernel: string): boolean {
  if (c.caps?.some((cap) => caps.has(cap))) return true;
  if (c.arches?.includes(seccompArch())) return true;
  if (c.minKernel !== undefined && kernelAtLeast(c.minKernel, kernel)) return true;
  return false;
}
