// `keelson logs CONTAINER`: reads the CRI log file (ContainerStatus log_path); the CRI prefix is
// stripped unless --timestamps, partial (P) lines are joined.
import { type Command } from 'commander';
import type { CriClient } from '../client/cri.js';
import { followLog, readLog, sinceToEpochMs, type LogLine } from '../run/cri-log.js';
import { socketOption } from './client-options.js';
import { findContainer } from './lookup.js';

type WithClient = <T extends { socket: string }>(run: (client: CriClient, opts: T) => Promise<void>) => (opts: T) => Promise<void>;

interface LogFlags {
  socket: string;
  follow?: boolean;
  tail?: string;
  since?: string;
  timestamps?: boolean;
}

export function registerLogsCommand(program: Command, withClient: WithClient): void {
  program
    .command('logs')
    .description('print a container\'s logs (name, pod/name or id prefix)')
    .argument('<container>', 'container name, pod/container or id prefix')
    .addOption(socketOption())
    .option('-f, --follow', 'keep printing new lines')
    .option('--tail <n>', 'only the last n lines')
    .option('--since <duration>', 'only lines newer than a duration (10s, 5m, 1h) or an RFC 3339 time')
    .option('-t, --timestamps', 'keep the CRI time and stream prefix')
    .action((ref: string, flags: LogFlags) =>
      withClient<LogFlags>(async (client, o) => {
        const c = await findContainer(client, ref);
        const status = (await client.runtime.call('ContainerStatus', { container_id: c.id ?? '' })).status;
        const path = status?.log_path ?? '';
        if (!path) throw new Error(`container ${ref} has no log file`);
        const tail = o.tail !== undefined ? Number(o.tail) : -1;
        if (o.tail !== undefined && (!Number.isInteger(tail) || tail < 0)) throw new Error(`--tail "${o.tail}" must be a whole number`);
        const since = o.since ? sinceToEpochMs(o.since) : 0;
        const print = (lines: LogLine[]): void => {
          for (const l of lines) {
            if (since && Date.parse(l.time) < since) continue;
            const text = o.timestamps ? `${l.time} ${l.stream} ${l.text}` : l.text;
            (l.stream === 'stderr' ? process.stderr : process.stdout).write(`${text}\n`);
          }
        };
        const { lines, offset } = readLog(path);
        print(tail >= 0 ? lines.slice(Math.max(0, lines.length - tail)) : lines);
        if (!o.follow) return;
        const follower = followLog(() => path, offset, print);
        // Ends when the container exits (and its last lines are printed) or on Ctrl-C.
        for (;;) {
          await new Promise((r) => setTimeout(r, 500));
          const st = (await client.runtime.call('ContainerStatus', { container_id: c.id ?? '' }).catch(() => ({ status: null }))).status;
          if (!st || st.state === 'CONTAINER_EXITED') {
            await new Promise((r) => setTimeout(r, 400));
            follower.stop();
            return;
          }
        }
      })(flags));
}
