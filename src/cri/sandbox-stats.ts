import { InvalidArgumentError } from '../errors.js';
import type { SandboxService } from '../sandbox/service.js';
import type { SandboxStats } from '../sandbox/sandbox-stats.js';
import type { InterfaceCounters } from '../sandbox/netns-stats.js';
import type { ContainerService } from '../container/service.js';
import { toCriStats } from './container-stats.js';
import { cpuUsageOf, ioUsageOf, memoryUsageOf } from './usage-convert.js';
import type {
  ContainerStats, ListPodSandboxStatsRequest, ListPodSandboxStatsResponse, NetworkInterfaceUsage, PodSandboxStats,
  PodSandboxStatsRequest, PodSandboxStatsResponse,
} from './generated/cri-types.js';
import { matchesLabels } from './sandbox-list.js';

export function podSandboxStats(sandboxes: SandboxService, containers: ContainerService) {
  return async (request: PodSandboxStatsRequest): Promise<PodSandboxStatsResponse> => {
    if (!request.pod_sandbox_id) throw new InvalidArgumentError('pod_sandbox_id is required');
    const stats = await sandboxes.stats(request.pod_sandbox_id);
    return { stats: toCri(stats, await containerStatsOf(containers, stats.record.id)) };
  };
}

export function listPodSandboxStats(sandboxes: SandboxService, containers: ContainerService) {
  return async (request: ListPodSandboxStatsRequest): Promise<ListPodSandboxStatsResponse> => {
    const f = request.filter ?? {};
    const chosen = sandboxes.list()
      .filter((r) => r.phase !== 'creating')
      .filter((r) => !f.id || r.id.startsWith(f.id))
      .filter((r) => matchesLabels(r, f.label_selector ?? {}));
    const stats: PodSandboxStats[] = [];
    for (const r of chosen) {
      try {
        stats.push(toCri(await sandboxes.stats(r.id), await containerStatsOf(containers, r.id)));
      } catch {
        // removed meanwhile
      }
    }
    return { stats };
  };
}

const u64 = (v: bigint): { value: string } => ({ value: v.toString() });

function iface(i: InterfaceCounters): NetworkInterfaceUsage {
  return { name: i.name, rx_bytes: u64(i.rxBytes), rx_errors: u64(i.rxErrors), tx_bytes: u64(i.txBytes), tx_errors: u64(i.txErrors) };
}

function toCri(s: SandboxStats, containers: ContainerStats[]): PodSandboxStats {
  const r = s.record;
  const ts = s.timestampNs;
  const io = ioUsageOf(s.cgroup, ts);
  return {
    attributes: { id: r.id, metadata: { ...r.metadata }, labels: r.labels, annotations: r.annotations },
    linux: {
      cpu: cpuUsageOf(s.cgroup, ts, s.usageNanoCores),
      memory: memoryUsageOf(s.cgroup, ts),
      network: {
        timestamp: ts,
        ...(s.defaultInterface ? { default_interface: iface(s.defaultInterface) } : {}),
        interfaces: s.interfaces.map(iface),
      },
      process: { timestamp: ts, process_count: u64(s.cgroup.processCount) },
      // The pod's running containers, as ListContainerStats reports them (kubelet's summary API reads these).
      containers,
      ...(io ? { io } : {}),
    },
  };
}

/** The stats of the pod's running containers; one that goes away meanwhile is left out. */
async function containerStatsOf(containers: ContainerService, podId: string): Promise<ContainerStats[]> {
  const records = await containers.list({ sandboxId: podId, state: 'running' });
  const out: ContainerStats[] = [];
  for (const c of records) {
    try {
      out.push(toCriStats(await containers.stats(c.id)));
    } catch {
      // removed between the list and the read
    }
  }
  return out;
}
