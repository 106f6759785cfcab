// `keelson pods`: every pod sandbox, with readiness and restarts from the daemon's supervisor
// for the pods `keelson run` started.
import type { Command } from 'commander';
import type { CriClient } from '../client/cri.js';
import type { PodSandbox } from '../cri/generated/cri-types.js';
import { supervisedPods } from '../client/supervisor-status.js';
import type { Pod } from '../kube/pod-types.js';
import { CONTAINER_KIND_LABEL, INIT_FINAL_ANNOTATION, POD_SPEC_ANNOTATION } from '../supervisor/annotations.js';
import type { PodView } from '../supervisor/supervisor.js';
import { podStatus, type InitContainerState } from './pod-status.js';
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

const INIT_STATES: Record<string, InitContainerState['state']> = {
  CONTAINER_CREATED: 'created', CONTAINER_RUNNING: 'running', CONTAINER_EXITED: 'exited',
};

/** The newest attempt of each init container of the pod spec, in spec order. */
async function initStates(client: CriClient, p: PodSandbox): Promise<InitContainerState[]> {
  let names: string[];
  try {
    names = ((JSON.parse(p.annotations?.[POD_SPEC_ANNOTATION] ?? '{}') as Partial<Pod>).spec?.initContainers ?? []).map((c) => c.name);
  } catch {
    return [];
  }
  if (names.length === 0) return [];
  const all = (await client.runtime.call('ListContainers', {
    filter: { pod_sandbox_id: p.id ?? '', label_selector: { [CONTAINER_KIND_LABEL]: 'init' } },
  })).containers ?? [];
  const out: InitContainerState[] = [];
  for (const name of names) {
    const newest = all.filter((c) => c.metadata?.name === name).sort((a, b) => (b.metadata?.attempt ?? 0) - (a.metadata?.attempt ?? 0))[0];
    if (!newest) {
      out.push({ state: 'missing', exitCode: 0, reason: '', final: false });
      continue;
    }
    const state = INIT_STATES[newest.state ?? ''] ?? 'unknown';
    const st = state === 'exited'
      ? (await client.runtime.call('ContainerStatus', { container_id: newest.id ?? '' }).catch(() => ({ status: null }))).status
      : null;
    out.push({ state, exitCode: st?.exit_code ?? 0, reason: st?.reason ?? '', final: newest.annotations?.[INIT_FINAL_ANNOTATION] === 'true' });
  }
  return out;
}

async function statusOf(client: CriClient, p: PodSandbox, view: PodView | null): Promise<string> {
  if (p.state !== 'SANDBOX_READY') return 'Stopped';
  if (!view) return 'Running';
  return podStatus(true, await initStates(client, p), view.containers, Date.now());
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
      status: await statusOf(client, p, view), supervised: view,
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
