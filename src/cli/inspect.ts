// `keelson inspect POD|CONTAINER`: the verbose CRI status as JSON (and, for pods `keelson run`
// started, the supervisor's view: restarts, readiness, last probe).
import type { Command } from 'commander';
import type { CriClient } from '../client/cri.js';
import { supervisedPods } from '../client/supervisor-status.js';
import { NotFoundError } from '../errors.js';
import { POD_SPEC_ANNOTATION } from '../supervisor/annotations.js';
import { namespaceOption, socketOption } from './client-options.js';
import { findContainer, findPod } from './lookup.js';
import { camelKeys } from './output.js';

type WithClient = <T extends { socket: string }>(run: (client: CriClient, opts: T) => Promise<void>) => (opts: T) => Promise<void>;

function parsedInfo(info: Record<string, string> | null | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(info ?? {})) {
    try {
      out[k] = JSON.parse(v);
    } catch {
      out[k] = v;
    }
  }
  return out;
}

export function registerInspectCommand(program: Command, withClient: WithClient): void {
  program
    .command('inspect')
    .description('show a pod or container as JSON (name or id prefix)')
    .argument('<ref>', 'pod or container name, pod/container, or id prefix')
    .addOption(socketOption())
    .addOption(namespaceOption('look pods and containers up in this namespace'))
    .action((ref: string, opts: { socket: string; namespace?: string }) =>
      withClient<typeof opts>(async (client, o) => {
        const pod = await findPod(client, ref, { namespace: o.namespace }).catch((err: unknown) => (err instanceof NotFoundError ? null : Promise.reject(err)));
        if (pod) {
          const r = await client.runtime.call('PodSandboxStatus', { pod_sandbox_id: pod.id ?? '', verbose: true });
          const annotations = { ...(r.status?.annotations ?? {}) };
          const spec = annotations[POD_SPEC_ANNOTATION];
          delete annotations[POD_SPEC_ANNOTATION];
          const view = (await supervisedPods(o.socket)).pods.find((p) => p.sandboxId === pod.id) ?? null;
          console.log(JSON.stringify(camelKeys({
            kind: 'pod', status: { ...r.status, annotations }, info: parsedInfo(r.info),
            ...(spec ? { podSpec: JSON.parse(spec) as unknown } : {}), supervisor: view,
            containers: (await client.runtime.call('ListContainers', { filter: { pod_sandbox_id: pod.id ?? '' } })).containers ?? [],
          }), null, 2));
          return;
        }
        const c = await findContainer(client, ref, { namespace: o.namespace });
        const r = await client.runtime.call('ContainerStatus', { container_id: c.id ?? '', verbose: true });
        console.log(JSON.stringify(camelKeys({ kind: 'container', status: r.status, info: parsedInfo(r.info) }), null, 2));
      })(opts));
}
