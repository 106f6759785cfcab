// Memory of a runtime and everything it runs, from /proc: the daemon's own process tree plus
// the trees of its monitors (conmon, containerd shims), which double-fork away to init or a
// subreaper and so are found by their command lines naming the bench's temp dirs, never by name.
import { readdir, readFile } from 'node:fs/promises';

export interface ProcInfo {
  pid: number;
  ppid: number;
  argv: string[];
}

export async function listProcesses(): Promise<ProcInfo[]> {
  const out: ProcInfo[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = await readFile(`/proc/${entry}/stat`, 'utf8');
      // The command name in parentheses may hold spaces; the ppid follows the last ')'.
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const argv = (await readFile(`/proc/${entry}/cmdline`, 'utf8')).split('\0').filter((a) => a !== '');
      out.push({ pid: Number(entry), ppid, argv });
    } catch {
      // exited while we looked
    }
  }
  return out;
}

/** The roots and all their descendants, by the ppid links of a snapshot of /proc. */
export function descendants(procs: readonly ProcInfo[], roots: readonly number[]): number[] {
  const children = new Map<number, number[]>();
  for (const p of procs) children.set(p.ppid, [...(children.get(p.ppid) ?? []), p.pid]);
  const seen = new Set<number>();
  const queue = [...roots];
  while (queue.length > 0) {
    const pid = queue.shift() as number;
    if (seen.has(pid)) continue;
    seen.add(pid);
    queue.push(...(children.get(pid) ?? []));
  }
  return [...seen];
}

/** Rss and Pss (kB) from /proc/PID/smaps_rollup; zeros when the process is gone. */
export async function smapsRollup(pid: number): Promise<{ rssKb: number; pssKb: number }> {
  const text = await readFile(`/proc/${pid}/smaps_rollup`, 'utf8').catch(() => '');
  const field = (name: string): number => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? 0);
  return { rssKb: field('Rss'), pssKb: field('Pss') };
}

export interface TreeMemory {
  processes: number;
  daemonRssKb: number;
  daemonPssKb: number;
  totalRssKb: number;
  totalPssKb: number;
}

/**
 * The daemon's tree plus the trees of every process whose arguments contain `marker` (a temp
 * dir only this runtime's monitors name: keelson's state dir for conmon, containerd's socket for shims).
 */
export async function treeMemory(daemonPid: number, marker: string): Promise<TreeMemory> {
  const procs = await listProcesses();
  const monitors = procs.filter((p) => p.pid !== daemonPid && p.argv.some((a) => a.includes(marker))).map((p) => p.pid);
  const pids = descendants(procs, [daemonPid, ...monitors]);
  const daemon = await smapsRollup(daemonPid);
  let totalRssKb = 0;
  let totalPssKb = 0;
  for (const pid of pids) {
    const m = await smapsRollup(pid);
    totalRssKb += m.rssKb;
    totalPssKb += m.pssKb;
  }
  return { processes: pids.length, daemonRssKb: daemon.rssKb, daemonPssKb: daemon.pssKb, totalRssKb, totalPssKb };
}
