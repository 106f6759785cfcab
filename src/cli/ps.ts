// `keelson ps`: containers, newest first; exited ones too with -a.
import type { Command } from 'commander';
import type { CriClient } from '../client/cri.js';
import type { Container } from '../cri/generated/cri-types.js';
import { namespaceOption, socketOption } from './client-options.js';
import { listPods, matchPods } from './lookup.js';
import { ageOf, formatTable, outputOption, printAs, shortId } from './output.js';

async function statusOf(client: CriClient, c: Container): Promise<string> {
  if (c.state === 'CONTAINER_RUNNING') return 'Running';
  if (c.state === 'CONTAINER_CREATED') return 'Created';
  if (c.state !== 'CONTAINER_EXITED') return 'Unknown';
  const st = (await client.runtime.call('ContainerStatus', { container_id: c.id ?? '' }).catch(() => ({ status: null }))).status;
  if (!st) return 'Exited';
  const code = st.exit_code ?? 0;
  const reason = st.reason || (code === 0 ? 'Completed' : 'Error');
  return code === 0 ? reason : `${reason} (${code})`;
}

type WithClient = <T extends { socket: string }>(run: (client: CriClient, opts: T) => Promise<void>) => (opts: T) => Promise<void>;

export function registerPsCommand(program: Command, withClient: WithClient): void {
  program
    .command('ps')
    .description('list containers (running ones; -a for all)')
    .addOption(socketOption())
    .addOption(namespaceOption('only containers of pods in this namespace'))
    .addOption(outputOption())
    .option('-a, --all', 'show exited containers too')
    .option('-q, --quiet', 'print only container ids')
    .option('--pod <pod>', 'only the containers of this pod (name or id prefix)')
    .action((opts: { socket: string; namespace?: string; output: string; all?: boolean; quiet?: boolean; pod?: string }) =>
      withClient<typeof opts>(async (client, o) => {
        const pods = await listPods(client, { namespace: o.namespace });
        const podName = new Map(pods.map((p) => [p.id ?? '', p.metadata?.name ?? '']));
        const shown = new Set((o.pod ? matchPods(pods, o.pod) : pods).map((p) => p.id ?? ''));
        let containers = (await client.runtime.call('ListContainers', o.all ? {} : { filter: { state: { state: 'CONTAINER_RUNNING' } } })).containers ?? [];
        containers = containers.filter((c) => shown.has(c.pod_sandbox_id ?? ''));
        containers.sort((a, b) => Number(BigInt(b.created_at ?? '0') - BigInt(a.created_at ?? '0')));
        if (o.quiet) {
          console.log(containers.map((c) => c.id).join('\n'));
          return;
        }
        // STATUS as kubectl names a container's state: the CRI reason of an exited one
        // (Completed, Error, OOMKilled) needs ContainerStatus; ListContainers has no reason.
        const rows = await Promise.all(containers.map(async (c) => ({ ...c, status: await statusOf(client, c) })));
        printAs(o.output, rows, () => formatTable(['CONTAINER', 'IMAGE', 'CREATED', 'STATE', 'STATUS', 'NAME', 'ATTEMPT', 'POD ID', 'POD'],
          rows.map((c) => [shortId(c.id), c.image?.image ?? '', ageOf(c.created_at), (c.state ?? '').replace('CONTAINER_', '').toLowerCase(), c.status,
            c.metadata?.name ?? '', String(c.metadata?.attempt ?? 0), shortId(c.pod_sandbox_id), podName.get(c.pod_sandbox_id ?? '') ?? ''])));
      })(opts));
}
