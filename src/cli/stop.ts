// `keelson stop POD|CONTAINER...`: stops pods (their containers and network; kept until rm),
// or single containers. A stopped pod is no longer supervised. Pods stop as kubelet deletes
// them: preStop, stop signal, grace period, then SIGKILL (src/cli/pod-stop.ts).
import type { Command } from 'commander';
import type { CriClient } from '../client/cri.js';
import { NotFoundError } from '../errors.js';
import { namespaceOption, socketOption } from './client-options.js';
import { findContainer, findPod } from './lookup.js';
import { shortId } from './output.js';
import { graceOptions, parseGrace, stopPod, type GraceFlags } from './pod-stop.js';

type WithClient = <T extends { socket: string }>(run: (client: CriClient, opts: T) => Promise<void>) => (opts: T) => Promise<void>;

export function registerStopCommand(program: Command, withClient: WithClient): void {
  program
    .command('stop')
    .description('stop pods (or containers) by name or id prefix')
    .argument('<refs...>', 'pod or container names or id prefixes')
    .addOption(socketOption())
    .addOption(namespaceOption('look pods and containers up in this namespace'))
    .addOption(graceOptions()[0])
    .addOption(graceOptions()[1])
    .action((refs: string[], opts: { socket: string; namespace?: string } & GraceFlags) =>
      withClient<typeof opts>(async (client, o) => {
        const grace = parseGrace(o);
        for (const ref of refs) {
          const pod = await findPod(client, ref, { namespace: o.namespace }).catch((err: unknown) => (err instanceof NotFoundError ? null : Promise.reject(err)));
          if (pod) {
            await stopPod(client, o.socket, pod, grace);
            console.log(`stopped pod ${pod.metadata?.name ?? ''} (${shortId(pod.id)})`);
            continue;
          }
          const c = await findContainer(client, ref, { namespace: o.namespace });
          await client.runtime.call('StopContainer', { container_id: c.id ?? '', timeout: String(grace ?? 10) });
          console.log(`stopped container ${c.metadata?.name ?? ''} (${shortId(c.id)})`);
        }
      })(opts));
}
