// `keelson run FILE|-`: runs every pod of the manifest (Pods, and Deployments' replicas) through
// the daemon, prints each pod's id, IP and published ports, and with -f follows the logs.
import { dirname, join } from 'node:path';
import { Option, type Command } from 'commander';
import type { CriClient } from '../client/cri.js';
import { runPod, type StartedPod } from '../run/runner.js';
import { readKeySource } from '../run/volumes.js';
import { followLog, newestAttemptLog, type LogLine } from '../run/cri-log.js';
import { socketOption } from './client-options.js';
import { pullWithProgress } from './images.js';
import { readManifests } from './manifest-input.js';
import { outputOption, printAs, formatTable, shortId } from './output.js';
import { DEFAULT_ROOT } from '../config/defaults.js';

type WithClient = <T extends { socket: string }>(run: (client: CriClient, opts: T) => Promise<void>) => (opts: T) => Promise<void>;

interface RunFlags {
  socket: string;
  state?: string;
  root: string;
  logRoot: string;
  configmap: string[];
  secret: string[];
  follow?: boolean;
  output: string;
  quiet?: boolean;
  replace?: boolean;
}

const collect = (value: string, previous: string[]): string[] => [...previous, value];

export function rootOption(): Option {
  return new Option('--root <dir>', 'the daemon\'s root dir (pod volumes go under <root>/pod-volumes)').env('KEELSON_ROOT').default(DEFAULT_ROOT);
}

/** Follows the logs of every container of the pods, each line prefixed with pod/container. */
export function followPods(pods: StartedPod[]): Promise<never> {
  const width = Math.max(...pods.flatMap((p) => p.containers.map((c) => `${p.name}/${c.name}`.length)));
  for (const p of pods) {
    for (const c of p.containers) {
      const prefix = (pods.length > 1 ? `${p.name}/${c.name}` : c.name).padEnd(pods.length > 1 ? width : 0);
      // The newest attempt's file: the supervisor writes <name>/<attempt>.log on restarts.
      followLog(() => newestAttemptLog(join(p.logDirectory, c.name)), 0, (lines: LogLine[]) => {
        for (const l of lines) (l.stream === 'stderr' ? process.stderr : process.stdout).write(`${prefix} | ${l.text}\n`);
      });
    }
  }
  return new Promise<never>(() => undefined);
}

export function registerRunCommand(program: Command, withClient: WithClient): void {
  program
    .command('run')
    .description('run the pods of a Kubernetes manifest (Pods and Deployments); `-` reads stdin')
    .argument('<file>', 'manifest file, or - for stdin')
    .addOption(socketOption())
    .addOption(rootOption())
    .addOption(new Option('--log-root <dir>', 'pod log dirs go under it').env('KEELSON_LOG_ROOT').default('/var/log/keelson/pods'))
    .option('--state <dir>', 'the daemon\'s state dir, where pull progress is (default: the socket\'s dir)')
    .option('--configmap <name=path>', 'a configMap from a dir (a key per file) or a file (repeatable)', collect, [])
    .option('--secret <name=path>', 'a secret from a dir (a key per file) or a file (repeatable)', collect, [])
    .option('-f, --follow', 'follow the logs of every container')
    .option('-q, --quiet', 'print only pod ids')
    .option('--replace', 'remove a pod of the same namespace/name first')
    .addOption(outputOption())
    .action((file: string, flags: RunFlags) =>
      withClient<RunFlags>(async (client, o) => {
        const parsed = await readManifests(file);
        for (const w of parsed.warnings) console.error(`warning: ${w}`);
        const configMaps = new Map(o.configmap.map((f) => readKeySource(f, 'configmap')).map((s) => [s.name, s.data]));
        const secrets = new Map(o.secret.map((f) => readKeySource(f, 'secret')).map((s) => [s.name, s.data]));
        const chatty = o.output === 'table' && !o.quiet;
        const started: StartedPod[] = [];
        // Ctrl-C while a pod starts undoes that pod (it would otherwise be left half made, e.g.
        // mid init retries); pods already started stay. A second signal exits at once.
        const abort = new AbortController();
        const onSignal = (sig: NodeJS.Signals): void => {
          if (abort.signal.aborted) process.exit(130);
          console.error(`${sig}: removing the pod being started (again to exit at once)`);
          abort.abort();
        };
        process.on('SIGINT', onSignal).on('SIGTERM', onSignal);
        try {
          for (const { pod } of parsed.pods) {
            const p = await runPod(client, pod, {
              root: o.root, logRoot: o.logRoot, sources: { configMaps, secrets }, socket: o.socket, replace: o.replace, signal: abort.signal,
              pull: async (image) => {
                if (chatty) console.error(`pulling ${image}`);
                await pullWithProgress(client, image, o.state ?? dirname(o.socket), !chatty);
              },
              say: (line) => console.error(line),
            });
            started.push(p);
            if (o.quiet) console.log(p.id);
          }
        } finally {
          process.off('SIGINT', onSignal).off('SIGTERM', onSignal);
        }
        if (!o.quiet) {
          printAs(o.output, started, () => formatTable(['POD', 'ID', 'IP', 'PORTS', 'CONTAINERS'], started.map((p) => [
            p.namespace === 'default' ? p.name : `${p.namespace}/${p.name}`, shortId(p.id), p.ip || '-',
            p.ports.map((x) => `0.0.0.0:${x.hostPort}->${x.containerPort}/${x.protocol.toLowerCase()}`).join(', ') || '-',
            p.containers.map((c) => c.name).join(', '),
          ])));
        }
        if (o.follow) await followPods(started);
      })(flags));
}
