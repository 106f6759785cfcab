// A plugin process started by a daemon that was killed outlives it (it runs in its own
// process group, so a Ctrl-C to the daemon does not take it down). The next daemon finds it
// through the pid file it wrote, checks that the pid still runs the same command line (a
// reused pid is left alone), and stops it before starting its own.
import { readFile, rm, writeFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../logger.js';

export async function writePidFile(pidFile: string, pid: number): Promise<void> {
  await writeFile(pidFile, `${pid}\n`, { mode: 0o600 });
}

async function commandLine(pid: number): Promise<string[] | null> {
  const raw = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => null);
  if (raw === null || raw === '') return null; // gone, or a zombie
  return raw.replace(/\0$/, '').split('\0');
}

function sameCommand(argv: string[], binary: string, args: string[]): boolean {
  const [argv0, ...rest] = argv;
  return argv0 !== undefined && basename(argv0) === basename(binary) && rest.length === args.length && rest.every((a, i) => a === args[i]);
}

/** Stops the process a pid file names if it still runs binary+args; removes the pid file. */
export async function stopLeftoverPlugin(pidFile: string, binary: string, args: string[], log: Logger): Promise<void> {
  const text = await readFile(pidFile, 'utf8').catch(() => null);
  if (text === null) return;
  const pid = Number.parseInt(text.trim(), 10);
  const argv = Number.isSafeInteger(pid) && pid > 1 ? await commandLine(pid) : null;
  if (argv && sameCommand(argv, binary, args)) {
    log.warn({ pid }, 'stopping a CSI plugin process left by a previous daemon');
    // Its process group: the plugin was started as a group leader, with whatever it started.
    const signal = (sig: NodeJS.Signals): void => {
      try {
        process.kill(-pid, sig);
      } catch {
        process.kill(pid, sig);
      }
    };
    signal('SIGTERM');
    for (let waited = 0; (await commandLine(pid)) !== null; waited += 50) {
      if (waited === 5000) signal('SIGKILL');
      if (waited > 10_000) break;
      await sleep(50);
    }
  }
  await rm(pidFile, { force: true });
}
