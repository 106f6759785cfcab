// `keelson run FILE|-`: runs every pod of the manifest (Pods, and Deployments' replicas) through
// the daemon, prints each pod's id, IP and published ports, and with -f follows the logs.
import { join } from 'node:path';
import { Option, type Command } from 'commander';
import type { CriClient } from '../client/cri.js';
import { runPod, type StartedPod } from '../run/runner.js';
import { readKeySource, type VolumeSources } from '../run/volumes.js';
import { bindClaims, sourcesFor } from '../run/manifest-objects.js';
import { VolumesClient } from '../client/volumes.js';
import { followLog, newestAttemptLog, type LogLine } from '../run/cri-log.js';
import { daemonDirs, namespaceOption, socketOption } from './client-options.js';
import { pullStatusLine, pullWithProgress } from './images.js';
import { applyNamespace, readManifests } from './manifest-input.js';
import { outputOption, printAs, formatTable, shortId } from './output.js';

type WithClient = <T extends { socket: string }>(run: (client: CriClient, opts: T) => Promise<void>) => (opts: T) => Promise<void>;

interface RunFlags {
  socket: string;
  state?: string;
  root?: string;
  namespace?: string;
  logRoot: string;
  configmap: string[];
  secret: string[];
  follow?: boolean;
  output: string;
  quiet?: boolean;
  replace?: boolean;
}

const collect = (value: string, previous: string[]): string[] => [...previous, value];

/** Deprecated: the daemon reports its root dir (verbose Status); this only overrides it. */
export function rootOption(): Option {
  return new Option('--root <dir>', 'deprecated: override the daemon\'s root dir (asked of the daemon)').env('KEELSON_ROOT');
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
    .addHelpText('after', `
ConfigMap, Secret and PersistentVolumeClaim documents in FILE serve the pods of their namespace;
a --configmap/--secret flag of the same name is used instead of the file's object. A PVC whose
storageClassName is a CSI plugin of the daemon gets a named volume of that plugin; any other
gets a local dir <root>/volumes/<namespace>_<claim>/, kept across down/run (remove it by hand).
Services are skipped (no service proxy: use hostPort or port-forward).

imagePullPolicy defaults to IfNotPresent for every tag, :latest too (kubelet pulls :latest
Always), so pods run offline from local images; Always pulls on every run, Never requires the
image to be present.`)
    .argument('<file>', 'manifest file, or - for stdin')
    .addOption(socketOption())
    .addOption(rootOption())
    .addOption(new Option('--log-root <dir>', 'pod log dirs go under it').env('KEELSON_LOG_ROOT').default('/var/log/keelson/pods'))
    .addOption(new Option('--state <dir>', 'deprecated: override the daemon\'s state dir (asked of the daemon)'))
    .addOption(namespaceOption('the namespace of pods that name none (a pod naming another is an error)'))
    .option('--configmap <name=path>', 'a configMap from a dir (a key per file) or a file (repeatable; wins over the file\'s ConfigMap NAME)', collect, [])
    .option('--secret <name=path>', 'a secret from a dir (a key per file) or a file (repeatable; wins over the file\'s Secret NAME)', collect, [])
    .option('-f, --follow', 'follow the logs of every container')
    .option('-q, --quiet', 'print only pod ids')
    .option('--replace', 'remove a pod of the same namespace/name first')
    .addOption(outputOption())
    .action((file: string, flags: RunFlags, command: Command) =>
      withClient<RunFlags>(async (client, o) => {
        const parsed = applyNamespace(await readManifests(file), o.namespace);
        if (command.getOptionValueSource('root') === 'cli') console.error('warning: --root is deprecated: keelson asks the daemon for its root dir');
        const asked = o.root === undefined || o.state === undefined ? await daemonDirs(client) : undefined;
        const root = o.root ?? asked?.root ?? '';
        const stateDir = o.state ?? asked?.state;
        for (const w of parsed.warnings) console.error(`warning: ${w}`);
        for (const n of parsed.notes) console.error(`note: ${n}`);
        const flagSources = {
          configMaps: new Map(o.configmap.map((f) => readKeySource(f, 'configmap')).map((s) => [s.name, s.data])),
          secrets: new Map(o.secret.map((f) => readKeySource(f, 'secret')).map((s) => [s.name, s.data])),
        };
        const say = (line: string): void => console.error(line);
        const sourcesByNamespace = new Map<string, VolumeSources>(); // built once each, so each note is said once
        let volumesClient: VolumesClient | undefined;
        const volumes = (): VolumesClient => (volumesClient ??= new VolumesClient(o.socket));
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
          for (const { pod: manifestPod } of parsed.pods) {
            const pod = await bindClaims(manifestPod, parsed.claims, root, volumes, say);
            const ns = pod.metadata.namespace ?? 'default';
            const sources = sourcesByNamespace.get(ns) ?? sourcesFor(ns, parsed, flagSources, say);
            sourcesByNamespace.set(ns, sources);
            const p = await runPod(client, pod, {
              root, logRoot: o.logRoot, sources, socket: o.socket, replace: o.replace, signal: abort.signal,
              pull: async (image) => {
                if (chatty) console.error(`pulling ${image}`);
                const r = await pullWithProgress(client, image, { stateDir, quiet: !chatty });
                if (chatty) console.error(pullStatusLine(image, r));
              },
              say,
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
