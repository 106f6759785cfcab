// Killing a process together with everything it started. Children are found by their
// parent pid in /proc/<pid>/stat (this kernel has no /proc/<pid>/task/<tid>/children).
// The tree is stopped (SIGSTOP) before it is killed, so nothing in it can fork a child we
// would miss between reading the tree and killing it.

import { readdirSync, readFileSync } from 'node:fs';
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
  const children = parentPids();
  const out: number[] = [];
  const pending = [pid];
  while (pending.length > 0) {
    const p = pending.pop() as number;
    out.push(p);
    pending.push(...(children.get(p) ?? []));
  }
  return out;
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}

/** Stops pid's whole tree, then SIGKILLs it; returns the pids signalled. */
export function killProcessTree(pid: number): number[] {
  // 0 (a pid read from an empty file, say) is the parent of init: its tree is every process.
  if (!Number.isInteger(pid) || pid < 2) throw new InvalidArgumentError(`killProcessTree: pid ${pid} is not a process keelson may kill with its tree`);
  const stopped = new Set<number>();
  // Until a pass finds nothing new: a process forked before it was stopped shows up next pass.
  for (let pass = 0; pass < 10; pass++) {
    const fresh = processTree(pid).filter((p) => !stopped.has(p));
    if (fresh.length === 0) break;
    for (const p of fresh) {
      signal(p, 'SIGSTOP');
      stopped.add(p);
    }
  }
  for (const p of stopped) signal(p, 'SIGKILL');
  return [...stopped];
}
