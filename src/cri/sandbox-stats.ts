import { InvalidArgumentError } from '../errors.js';
import type { SandboxService } from '../sandbox/service.js';
import type { SandboxStats } from '../sandbox/sandbox-stats.js';
import type { InterfaceCounters } from '../sandbox/netns-stats.js';
import type {
  ListPodSandboxStatsRequest, ListPodSandboxStatsResponse, NetworkInterfaceUsage, PodSandboxStats,
  PodSandboxStatsRequest, PodSandboxStatsResponse,
} from './generated/cri-types.js';
import { matchesLabels } from './sandbox-list.js';

export function podSandboxStats(sandboxes: SandboxService) {
  return async (request: PodSandboxStatsRequest): Promise<PodSandboxStatsResponse> => {
    if (!request.pod_sandbox_id) throw new InvalidArgumentError('pod_sandbox_id is required');
    return { stats: toCri(await sandboxes.stats(request.pod_sandbox_id)) };
  };
}

export function listPodSandboxStats(sandboxes: SandboxService) {
  return async (request: ListPodSandboxStatsRequest): Promise<ListPodSandboxStatsResponse> => {
    const f = request.filter ?? {};
    const chosen = sandboxes.list()
      .filter((r) => r.phase !== 'creating')
      .filter((r) => !f.id || r.id.startsWith(f.id))
      .filter((r) => matchesLabels(r, f.label_selector ?? {}));
    const stats: PodSandboxStats[] = [];
    for (const r of chosen) {
      try {
        stats.push(toCri(await sandboxes.stats(r.id)));
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

function toCri(s: SandboxStats): PodSandboxStats {
  const r = s.record;
  const ts = s.timestampNs;
  return {
    attributes: { id: r.id, metadata: { ...r.metadata }, labels: r.labels, annotations: r.annotations },
    linux: {
      cpu: {
        timestamp: ts,
        usage_core_nano_seconds: u64(s.cgroup.cpuUsageNs),
        ...(s.usageNanoCores !== null ? { usage_nano_cores: u64(s.usageNanoCores) } : {}),
      },
      memory: {
        timestamp: ts,
        working_set_bytes: u64(s.cgroup.workingSetBytes),
        usage_bytes: u64(s.cgroup.memoryUsageBytes),
        rss_bytes: u64(s.cgroup.rssBytes),
        page_faults: u64(s.cgroup.pageFaults),
        major_page_faults: u64(s.cgroup.majorPageFaults),
      },
      network: {
        timestamp: ts,
        ...(s.defaultInterface ? { default_interface: iface(s.defaultInterface) } : {}),
        interfaces: s.interfaces.map(iface),
      },
      process: { timestamp: ts, process_count: u64(s.cgroup.processCount) },
      containers: [],
    },
  };
}
