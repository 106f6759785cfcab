// Killing a process together with everything it started. Children are found by their
// parent pid in /proc/<pid>/stat (this kernel has no /proc/<pid>/task/<tid>/children).
// The tree is stopped (SIGSTOP) before it is killed, so nothing in it can fork a child we
// would miss between reading the tree and killing it. A process that left the tree (double
// fork, setsid and exit: re-parented to the container's init) is found by a mark in its
// environment, which every descendant inherits unless it execs with another environment.

import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { InvalidArgumentError } from '../errors.js';

/** Parent pid of every process, from /proc. */
function parentPids(): Map<number, number[]> {
  const children = new Map<number, number[]>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${name}/stat`, 'latin1');
    } catch {
      continue; // gone meanwhile
    }
    // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so split after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ppid = Number(fields[1]);
    const list = children.get(ppid);
    if (list) list.push(Number(name));
    else children.set(ppid, [Number(name)]);
  }
  return children;
}

/** pid and all its descendants. */
export function processTree(pid: number): number[] {
  return descendants([pid], parentPids());
}

function descendants(roots: number[], children: Map<number, number[]>): number[] {
  const out = new Set<number>();
  const pending = [...roots];
  while (pending.length > 0) {
    const p = pending.pop() as number;
    if (out.has(p)) continue;
    out.add(p);
    pending.push(...(children.get(p) ?? []));
  }
  return [...out];
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}

/** A NAME=value pair in the environment of every process to kill, in one PID namespace. */
export interface EnvMark {
  /** `readlink /proc/<pid>/ns/pid` of a process in the namespace, e.g. "pid:[4026532301]". */
  pidNamespace: string;
  /** "NAME=value", matched against whole entries of /proc/<pid>/environ. */
  entry: string;
}

/** The PID namespace of pid ("pid:[4026532301]"), or null when it is gone. */
export function pidNamespaceOf(pid: number): string | null {
  try {
    return readlinkSync(`/proc/${pid}/ns/pid`);
  } catch {
    return null;
  }
}

/** Processes in the mark's PID namespace whose environment holds the mark's entry. */
export function markedProcesses(mark: EnvMark): number[] {
  const out: number[] = [];
  const wanted = Buffer.from(`${mark.entry}\0`);
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const pid = Number(name);
    if (pidNamespaceOf(pid) !== mark.pidNamespace) continue;
    let environ: Buffer;
    try {
      environ = readFileSync(`/proc/${name}/environ`);
    } catch {
      continue; // gone meanwhile
    }
    const at = environ.indexOf(wanted);
    // A whole entry: at the start or right after another entry's NUL.
    if (at === 0 || (at > 0 && environ[at - 1] === 0)) out.push(pid);
  }
  return out;
}

/**
 * Stops pid's whole tree (pid null: none), and every process carrying the mark with its own
 * tree, then SIGKILLs them all; returns the pids signalled.
 */
export function killProcessTree(pid: number | null, mark?: EnvMark): number[] {
  // 0 (a pid read from an empty file, say) is the parent of init: its tree is every process.
  if (pid !== null && (!Number.isInteger(pid) || pid < 2)) throw new InvalidArgumentError(`killProcessTree: pid ${pid} is not a process keelson may kill with its tree`);
  const stopped = new Set<number>();
  // Until a pass finds nothing new: a process forked before it was stopped shows up next pass.
  for (let pass = 0; pass < 10; pass++) {
    const roots = [...(pid !== null ? [pid] : []), ...(mark ? markedProcesses(mark) : [])];
    const fresh = descendants(roots, parentPids()).filter((p) => !stopped.has(p));
    if (fresh.length === 0) break;
    for (const p of fresh) {
      signal(p, 'SIGSTOP');
      stopped.add(p);
    }
  }
  for (const p of stopped) signal(p, 'SIGKILL');
  return [...stopped];
}
