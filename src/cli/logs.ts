// `keelson logs POD|CONTAINER`: reads the CRI log file (ContainerStatus log_path); the CRI prefix
// is stripped unless --timestamps, partial (P) lines are joined per stream, and stderr lines go
// to stderr. --previous reads the attempt before the newest, as `kubectl logs -p`.
import { type Command } from 'commander';
import type { CriClient } from '../client/cri.js';
import { NotFoundError } from '../errors.js';
import { followLog, previousAttemptLog, readLog, sinceToEpochMs, type LogLine } from '../run/cri-log.js';
import { namespaceOption, socketOption } from './client-options.js';
import { findTarget, type Target } from './lookup.js';

type WithClient = <T extends { socket: string }>(run: (client: CriClient, opts: T) => Promise<void>) => (opts: T) => Promise<void>;

interface LogFlags {
  socket: string;
  namespace?: string;
  container?: string;
  follow?: boolean;
  previous?: boolean;
  tail?: string;
  since?: string;
  timestamps?: boolean;
}

/** The log file of the terminated attempt before `t`'s: its container record's, else `<name>/<attempt-1>.log`. */
async function previousLog(client: CriClient, t: Target, currentPath: string): Promise<string> {
  const name = t.container.metadata?.name ?? '';
  const attempt = t.container.metadata?.attempt ?? 0;
  const siblings = (await client.runtime.call('ListContainers', { filter: { pod_sandbox_id: t.container.pod_sandbox_id ?? '' } })).containers ?? [];
  const older = siblings
    .filter((c) => c.metadata?.name === name && (c.metadata?.attempt ?? 0) < attempt && c.state === 'CONTAINER_EXITED')
    .sort((a, b) => (b.metadata?.attempt ?? 0) - (a.metadata?.attempt ?? 0))[0];
  if (older) {
    const path = (await client.runtime.call('ContainerStatus', { container_id: older.id ?? '' })).status?.log_path ?? '';
    if (path) return path;
  }
  const file = currentPath ? previousAttemptLog(currentPath, attempt) : null;
  if (file) return file;
  throw new NotFoundError(`previous terminated container "${name}" in pod "${t.pod?.metadata?.name ?? ''}" not found`);
}

export function registerLogsCommand(program: Command, withClient: WithClient): void {
  program
    .command('logs')
    .description('print a container\'s logs (pod, pod/container, container name or id prefix)')
    .argument('<ref>', 'pod (its default container, or -c), pod/container, container name or id prefix')
    .addOption(socketOption())
    .addOption(namespaceOption('look the pod up in this namespace'))
    .option('-c, --container <name>', 'the container of the pod')
    .option('-f, --follow', 'keep printing new lines')
    .option('-p, --previous', 'the logs of the previous, terminated instance of the container')
    .option('--tail <n>', 'only the last n lines')
    .option('--since <duration>', 'only lines newer than a duration (10s, 5m, 1h) or an RFC 3339 time')
    .option('-t, --timestamps', 'keep the CRI time and stream prefix')
    .action((ref: string, flags: LogFlags) =>
      withClient<LogFlags>(async (client, o) => {
        const target = await findTarget(client, ref, { namespace: o.namespace, container: o.container });
        const c = target.container;
        const status = (await client.runtime.call('ContainerStatus', { container_id: c.id ?? '' })).status;
        const current = status?.log_path ?? '';
        const path = o.previous ? await previousLog(client, target, current) : current;
        if (!path) throw new Error(`container ${ref} has no log file`);
        const tail = o.tail !== undefined ? Number(o.tail) : -1;
        if (o.tail !== undefined && (!Number.isInteger(tail) || tail < 0)) throw new Error(`--tail "${o.tail}" must be a whole number`);
        const since = o.since ? sinceToEpochMs(o.since) : 0;
        const print = (lines: LogLine[]): void => {
          for (const l of lines) {
            if (since && Date.parse(l.time) < since) continue;
            const text = o.timestamps ? `${l.time} ${l.stream} ${l.text}` : l.text;
            (l.stream === 'stderr' ? process.stderr : process.stdout).write(l.partial ? text : `${text}\n`);
          }
        };
        // Without -f nothing more is read: a last line without its newline is printed as it is.
        const { lines, offset } = readLog(path, !o.follow || o.previous === true);
        print(tail >= 0 ? lines.slice(Math.max(0, lines.length - tail)) : lines);
        // A previous instance has ended: nothing more will come.
        if (!o.follow || o.previous) return;
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
