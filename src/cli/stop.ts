// `keelson stop POD|CONTAINER...`: stops pods (their containers and network; kept until rm),
// or single containers. A stopped pod is no longer supervised.
import type { Command } from 'commander';
import type { CriClient } from '../client/cri.js';
import { NotFoundError } from '../errors.js';
import { namespaceOption, socketOption } from './client-options.js';
import { findContainer, findPod } from './lookup.js';
import { shortId } from './output.js';

type WithClient = <T extends { socket: string }>(run: (client: CriClient, opts: T) => Promise<void>) => (opts: T) => Promise<void>;

export function registerStopCommand(program: Command, withClient: WithClient): void {
  program
    .command('stop')
    .description('stop pods (or containers) by name or id prefix')
    .argument('<refs...>', 'pod or container names or id prefixes')
    .addOption(socketOption())
    .addOption(namespaceOption('look pods and containers up in this namespace'))
    .option('-t, --timeout <seconds>', 'grace period for a container before SIGKILL', '10')
    .action((refs: string[], opts: { socket: string; namespace?: string; timeout: string }) =>
      withClient<typeof opts>(async (client, o) => {
        for (const ref of refs) {
          const pod = await findPod(client, ref, { namespace: o.namespace }).catch((err: unknown) => (err instanceof NotFoundError ? null : Promise.reject(err)));
          if (pod) {
            await client.runtime.call('StopPodSandbox', { pod_sandbox_id: pod.id ?? '' });
            console.log(`stopped pod ${pod.metadata?.name ?? ''} (${shortId(pod.id)})`);
            continue;
          }
          const c = await findContainer(client, ref, { namespace: o.namespace });
          await client.runtime.call('StopContainer', { container_id: c.id ?? '', timeout: o.timeout });
          console.log(`stopped container ${c.metadata?.name ?? ''} (${shortId(c.id)})`);
        }
      })(opts));
}
