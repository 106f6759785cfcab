// `keelson down FILE|-`: stops and removes the pods `keelson run FILE` made (found by namespace
// and name among the pods carrying keelson's pod-spec annotation), with their volume dirs. As
// kubelet deletes pods: preStop, stop signal, the grace period, then SIGKILL; all pods at once.
import type { Command } from 'commander';
import type { CriClient } from '../client/cri.js';
import { removePod } from '../run/runner.js';
import { POD_SPEC_ANNOTATION } from '../supervisor/annotations.js';
import { namespaceOption, socketOption } from './client-options.js';
import { applyNamespace, readManifests } from './manifest-input.js';
import { shortId } from './output.js';
import { graceOptions, parseGrace, stopPod, type GraceFlags } from './pod-stop.js';

type WithClient = <T extends { socket: string }>(run: (client: CriClient, opts: T) => Promise<void>) => (opts: T) => Promise<void>;

export function registerDownCommand(program: Command, withClient: WithClient): void {
  program
    .command('down')
    .description('stop and remove the pods `keelson run FILE` started')
    .argument('<file>', 'the manifest given to run, or - for stdin')
    .addOption(socketOption())
    .addOption(namespaceOption('the namespace of the manifest\'s pods that have none (as given to run)'))
    .addOption(graceOptions()[0])
    .addOption(graceOptions()[1])
    .action((file: string, opts: { socket: string; namespace?: string } & GraceFlags) =>
      withClient<typeof opts>(async (client, o) => {
        const grace = parseGrace(o);
        const parsed = applyNamespace(await readManifests(file), o.namespace);
        const wanted = new Set(parsed.pods.map(({ pod }) => `${pod.metadata.namespace ?? 'default'}/${pod.metadata.name}`));
        const pods = (await client.runtime.call('ListPodSandbox', {})).items ?? [];
        const mine = pods.filter((p) => wanted.has(`${p.metadata?.namespace ?? ''}/${p.metadata?.name ?? ''}`) && p.annotations?.[POD_SPEC_ANNOTATION]);
        await Promise.all(mine.map(async (p) => {
          await stopPod(client, o.socket, p, grace);
          await removePod(client, p.id ?? '');
          console.log(`removed pod ${p.metadata?.namespace ?? ''}/${p.metadata?.name ?? ''} (${shortId(p.id)})`);
        }));
        if (mine.length === 0) console.log(`no pods of ${file} are running`);
      })(opts));
}
