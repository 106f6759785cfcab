// `keelson stats`: CPU and memory of running containers, a live table (every 2 s) or one shot
// with --no-stream. CPU % is the usage between two samples a second apart.
import type { Command } from 'commander';
import type { CriClient } from '../client/cri.js';
import type { ContainerStats } from '../cri/generated/cri-types.js';
import { humanSize } from './images.js';
import { namespaceOption, socketOption } from './client-options.js';
import { listPods, type Scope } from './lookup.js';
import { formatTable, outputOption, printAs, shortId } from './output.js';

type WithClient = <T extends { socket: string }>(run: (client: CriClient, opts: T) => Promise<void>) => (opts: T) => Promise<void>;

export interface StatsRow {
  id: string;
  name: string;
  pod: string;
  cpuPercent: number;
  memoryBytes: number;
  writableLayerBytes: number;
}

async function sample(client: CriClient): Promise<ContainerStats[]> {
  return (await client.runtime.call('ListContainerStats', { filter: {} })).stats ?? [];
}

async function rows(client: CriClient, before: ContainerStats[], scope: Scope): Promise<{ rows: StatsRow[]; after: ContainerStats[] }> {
  const after = await sample(client);
  const pods = await listPods(client, scope);
  const podName = new Map(pods.map((p) => [p.id ?? '', p.metadata?.name ?? '']));
  const containers = (await client.runtime.call('ListContainers', { filter: { state: { state: 'CONTAINER_RUNNING' } } })).containers ?? [];
  const podOf = new Map(containers.filter((c) => podName.has(c.pod_sandbox_id ?? '')).map((c) => [c.id ?? '', podName.get(c.pod_sandbox_id ?? '') ?? '']));
  const prev = new Map(before.map((s) => [s.attributes?.id ?? '', s]));
  const out = after.filter((s) => podOf.has(s.attributes?.id ?? '')).map((s) => {
    const id = s.attributes?.id ?? '';
    const p = prev.get(id);
    const dt = Number(s.cpu?.timestamp ?? 0) - Number(p?.cpu?.timestamp ?? 0);
    const du = Number(s.cpu?.usage_core_nano_seconds?.value ?? 0) - Number(p?.cpu?.usage_core_nano_seconds?.value ?? 0);
    return {
      id, name: s.attributes?.metadata?.name ?? '', pod: podOf.get(id) ?? '',
      cpuPercent: p && dt > 0 ? Math.max(0, (du / dt) * 100) : 0,
      memoryBytes: Number(s.memory?.working_set_bytes?.value ?? 0),
      writableLayerBytes: Number(s.writable_layer?.used_bytes?.value ?? 0),
    };
  });
  return { rows: out, after };
}

function table(r: StatsRow[]): string {
  return formatTable(['CONTAINER', 'NAME', 'POD', 'CPU %', 'MEM', 'DISK'],
    r.map((x) => [shortId(x.id), x.name, x.pod, x.cpuPercent.toFixed(2), humanSize(x.memoryBytes), humanSize(x.writableLayerBytes)]));
}

export function registerStatsCommand(program: Command, withClient: WithClient): void {
  program
    .command('stats')
    .description('live CPU and memory of running containers (--no-stream for one table)')
    .addOption(socketOption())
    .addOption(namespaceOption())
    .addOption(outputOption())
    .option('--no-stream', 'print one table and exit')
    .action((opts: { socket: string; namespace?: string; output: string; stream: boolean }) =>
      withClient<typeof opts>(async (client, o) => {
        let before = await sample(client);
        await new Promise((r) => setTimeout(r, 1000));
        for (;;) {
          const r = await rows(client, before, { namespace: o.namespace });
          before = r.after;
          if (!o.stream) {
            printAs(o.output, r.rows, () => table(r.rows));
            return;
          }
          if (process.stdout.isTTY && o.output === 'table') process.stdout.write('\x1b[2J\x1b[H');
          printAs(o.output, r.rows, () => table(r.rows));
          await new Promise((res) => setTimeout(res, 2000));
        }
      })(opts));
}
