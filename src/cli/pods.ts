// `keelson pods`: every pod sandbox, with readiness and restarts from the daemon's supervisor
// for the pods `keelson run` started.
import type { Command } from 'commander';
import type { CriClient } from '../client/cri.js';
import type { PodSandbox } from '../cri/generated/cri-types.js';
import { supervisedPods } from '../client/supervisor-status.js';
import type { PodView } from '../supervisor/supervisor.js';
import { namespaceOption, socketOption } from './client-options.js';
import { listPods, type Scope } from './lookup.js';
import { ageOf, formatTable, outputOption, printAs, shortId } from './output.js';

type WithClient = <T extends { socket: string }>(run: (client: CriClient, opts: T) => Promise<void>) => (opts: T) => Promise<void>;

export interface PodRow {
  id: string;
  name: string;
  namespace: string;
  state: string;
  ip: string;
  createdAt: string;
  /** "ready/total" for supervised pods, "" for others (kubelet's). */
  ready: string;
  restarts: number;
  status: string;
  supervised: PodView | null;
}

function statusOf(p: PodSandbox, view: PodView | null): string {
  if (p.state !== 'SANDBOX_READY') return 'Stopped';
  if (!view) return 'Running';
  // kubelet's waiting reason (ErrImagePull, ImagePullBackOff, ErrImageNeverPull) says more than CrashLoopBackOff.
  const stuck = view.containers.find((c) => c.reason);
  if (stuck) return stuck.reason;
  const waiting = view.containers.find((c) => c.state === 'exited' && c.restartAt > 0);
  if (waiting) return 'CrashLoopBackOff';
  if (view.containers.every((c) => c.state === 'exited')) {
    return view.containers.every((c) => c.exitCode === 0) ? 'Completed' : 'Error';
  }
  return 'Running';
}

export async function podRows(client: CriClient, socket: string, scope: Scope = {}): Promise<PodRow[]> {
  const pods = await listPods(client, scope);
  const views = new Map((await supervisedPods(socket)).pods.map((v) => [v.sandboxId, v]));
  const rows: PodRow[] = [];
  for (const p of pods) {
    const st = (await client.runtime.call('PodSandboxStatus', { pod_sandbox_id: p.id ?? '' }).catch(() => ({ status: null }))).status;
    const view = views.get(p.id ?? '') ?? null;
    rows.push({
      id: p.id ?? '', name: p.metadata?.name ?? '', namespace: p.metadata?.namespace ?? '', state: p.state ?? '',
      ip: st?.network?.ip ?? '', createdAt: p.created_at ?? '0',
      ready: view ? `${view.containers.filter((c) => c.ready).length}/${view.containers.length}` : '',
      restarts: view ? view.containers.reduce((n, c) => n + c.restarts, 0) : 0,
      status: statusOf(p, view), supervised: view,
    });
  }
  return rows.sort((a, b) => Number(BigInt(b.createdAt) - BigInt(a.createdAt)));
}

export function registerPodsCommand(program: Command, withClient: WithClient): void {
  program
    .command('pods')
    .description('list pods, with readiness and restarts of those `keelson run` started')
    .addOption(socketOption())
    .addOption(namespaceOption())
    .addOption(outputOption())
    .option('-q, --quiet', 'print only pod ids')
    .action((opts: { socket: string; namespace?: string; output: string; quiet?: boolean }) =>
      withClient<{ socket: string; namespace?: string; output: string; quiet?: boolean }>(async (client, o) => {
        const rows = await podRows(client, o.socket, { namespace: o.namespace });
        if (o.quiet) {
          console.log(rows.map((r) => r.id).join('\n'));
          return;
        }
        printAs(o.output, rows, () => formatTable(['POD ID', 'NAME', 'NAMESPACE', 'READY', 'STATUS', 'RESTARTS', 'IP', 'AGE'],
          rows.map((r) => [shortId(r.id), r.name, r.namespace, r.ready || '-', r.status, String(r.restarts), r.ip || '-', ageOf(r.createdAt)])));
      })(opts));
}
