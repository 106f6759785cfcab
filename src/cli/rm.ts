// `keelson rm POD|CONTAINER...`: removes pods (stopping them first: their containers go too,
// and the volume dirs `keelson run` made), or stopped containers (-f stops them first). A pod is
// stopped gracefully first (preStop, stop signal, grace period: src/cli/pod-stop.ts).
import type { Command } from 'commander';
import type { CriClient } from '../client/cri.js';
import { FailedPreconditionError, NotFoundError } from '../errors.js';
import { removePod } from '../run/runner.js';
import { namespaceOption, socketOption } from './client-options.js';
import { findContainer, findPod } from './lookup.js';
import { shortId } from './output.js';
import { graceOptions, parseGrace, stopPod, type GraceFlags } from './pod-stop.js';

type WithClient = <T extends { socket: string }>(run: (client: CriClient, opts: T) => Promise<void>) => (opts: T) => Promise<void>;

export function registerRmCommand(program: Command, withClient: WithClient): void {
  program
    .command('rm')
    .description('remove pods (with their containers) or containers, by name or id prefix')
    .argument('<refs...>', 'pod or container names or id prefixes')
    .addOption(socketOption())
    .addOption(namespaceOption('look pods and containers up in this namespace'))
    .option('-f, --force', 'stop a running container first')
    .addOption(graceOptions()[0])
    .addOption(graceOptions()[1])
    .action((refs: string[], opts: { socket: string; namespace?: string; force?: boolean } & GraceFlags) =>
      withClient<typeof opts>(async (client, o) => {
        const grace = parseGrace(o);
        for (const ref of refs) {
          const pod = await findPod(client, ref, { namespace: o.namespace }).catch((err: unknown) => (err instanceof NotFoundError ? null : Promise.reject(err)));
          if (pod) {
            await stopPod(client, o.socket, pod, grace);
            await removePod(client, pod.id ?? '');
            console.log(`removed pod ${pod.metadata?.name ?? ''} (${shortId(pod.id)})`);
            continue;
          }
          const c = await findContainer(client, ref, { namespace: o.namespace });
          if (c.state === 'CONTAINER_RUNNING') {
            if (!o.force) throw new FailedPreconditionError(`container ${ref} is running: stop it first or use -f`);
            await client.runtime.call('StopContainer', { container_id: c.id ?? '', timeout: String(grace ?? 10) });
          }
          await client.runtime.call('RemoveContainer', { container_id: c.id ?? '' });
          console.log(`removed container ${c.metadata?.name ?? ''} (${shortId(c.id)})`);
        }
      })(opts));
}
