// ListMetricDescriptors, ListPodSandboxMetrics (and its Stream form): the cAdvisor-style
// metrics kubelet exposes on /metrics/cadvisor when the runtime serves them
// (PodAndContainerStatsFromCRI). Names, types and label keys are cAdvisor's, as CRI-O sends
// them. Values are uint64 in CRI, so the `_seconds_total` counters carry whole seconds (as CRI-O).
import type { CgroupStats, Pressure } from '../cgroup/stats.js';
import type { ContainerStats as DomainContainerStats } from '../container/queries.js';
import type { ContainerService } from '../container/service.js';
import type { SandboxService } from '../sandbox/service.js';
import type { SandboxStats } from '../sandbox/sandbox-stats.js';
import type {
  ContainerMetrics, ListMetricDescriptorsResponse, ListPodSandboxMetricsResponse, Metric, MetricDescriptor, MetricType,
  PodSandboxMetrics,
} from './generated/cri-types.js';

const BASE = ['id', 'name', 'image'];

interface Family {
  name: string;
  help: string;
  type: MetricType;
  /** Label keys after id, name, image. */
  extra?: string[];
}

const CONTAINER_FAMILIES: Family[] = [
  { name: 'container_cpu_usage_seconds_total', help: 'Cumulative cpu time consumed, in seconds.', type: 'COUNTER' },
  { name: 'container_memory_usage_bytes', help: 'Current memory usage, including all memory regardless of when it was accessed.', type: 'GAUGE' },
  { name: 'container_memory_working_set_bytes', help: 'Current working set, in bytes.', type: 'GAUGE' },
  { name: 'container_memory_rss', help: 'Size of RSS, in bytes.', type: 'GAUGE' },
  { name: 'container_memory_swap', help: 'Container swap usage, in bytes.', type: 'GAUGE' },
  { name: 'container_memory_failures_total', help: 'Cumulative count of memory allocation failures.', type: 'COUNTER', extra: ['failure_type', 'scope'] },
  { name: 'container_spec_memory_limit_bytes', help: 'Memory limit for the container (0: none).', type: 'GAUGE' },
  { name: 'container_oom_events_total', help: 'Count of out of memory events observed for the container.', type: 'COUNTER' },
  { name: 'container_processes', help: 'Number of processes running inside the container.', type: 'GAUGE' },
  { name: 'container_last_seen', help: 'Last time the container was seen by the exporter, in seconds since the epoch.', type: 'GAUGE' },
  ...(['cpu', 'memory', 'io'] as const).flatMap((r): Family[] => [
    { name: `container_pressure_${r}_waiting_seconds_total`, help: `Total time duration tasks in the container have waited due to ${r} congestion.`, type: 'COUNTER' },
    { name: `container_pressure_${r}_stalled_seconds_total`, help: `Total time duration no tasks in the container could make progress due to ${r} congestion.`, type: 'COUNTER' },
  ]),
];

const NETWORK_FAMILIES: Family[] = [
  ['receive_bytes', 'bytes received'], ['transmit_bytes', 'bytes transmitted'],
  ['receive_packets', 'packets received'], ['transmit_packets', 'packets transmitted'],
  ['receive_errors', 'errors encountered while receiving'], ['transmit_errors', 'errors encountered while transmitting'],
  ['receive_packets_dropped', 'packets dropped while receiving'], ['transmit_packets_dropped', 'packets dropped while transmitting'],
].map(([what, help]) => ({ name: `container_network_${what}_total`, help: `Cumulative count of ${help}.`, type: 'COUNTER' as const, extra: ['interface'] }));

export function listMetricDescriptors() {
  const descriptors: MetricDescriptor[] = [...CONTAINER_FAMILIES, ...NETWORK_FAMILIES].map((f) => ({
    name: f.name, help: f.help, label_keys: [...BASE, ...(f.extra ?? [])],
  }));
  return async (): Promise<ListMetricDescriptorsResponse> => ({ descriptors });
}

const seconds = (us: bigint): bigint => us / 1_000_000n;

function metric(name: string, type: MetricType, labels: string[], value: bigint, timestamp: string): Metric {
  return { name, timestamp, metric_type: type, label_values: labels, value: { value: value.toString() } };
}

function pressureMetrics(resource: string, p: Pressure | null, labels: string[], ts: string): Metric[] {
  if (!p) return [];
  return [
    metric(`container_pressure_${resource}_waiting_seconds_total`, 'COUNTER', labels, seconds(p.some.totalUs), ts),
    ...(p.full ? [metric(`container_pressure_${resource}_stalled_seconds_total`, 'COUNTER', labels, seconds(p.full.totalUs), ts)] : []),
  ];
}

/** A container's metrics from its cgroup; a container without a cgroup (stopped) has none. */
export function containerMetrics(s: DomainContainerStats): Metric[] {
  const cg: CgroupStats | null = s.cgroup;
  if (!cg) return [];
  const ts = s.timestampNs;
  const labels = [s.id, s.record.name, s.record.imageRef];
  return [
    metric('container_cpu_usage_seconds_total', 'COUNTER', labels, cg.cpuUsageNs / 1_000_000_000n, ts),
    metric('container_memory_usage_bytes', 'GAUGE', labels, cg.memoryUsageBytes, ts),
    metric('container_memory_working_set_bytes', 'GAUGE', labels, cg.workingSetBytes, ts),
    metric('container_memory_rss', 'GAUGE', labels, cg.rssBytes, ts),
    ...(cg.swapUsageBytes !== null ? [metric('container_memory_swap', 'GAUGE', labels, cg.swapUsageBytes, ts)] : []),
    metric('container_memory_failures_total', 'COUNTER', [...labels, 'pgfault', 'container'], cg.pageFaults, ts),
    metric('container_memory_failures_total', 'COUNTER', [...labels, 'pgmajfault', 'container'], cg.majorPageFaults, ts),
    metric('container_spec_memory_limit_bytes', 'GAUGE', labels, cg.memoryLimitBytes ?? 0n, ts),
    metric('container_oom_events_total', 'COUNTER', labels, cg.oomKills, ts),
    metric('container_processes', 'GAUGE', labels, cg.processCount, ts),
    metric('container_last_seen', 'GAUGE', labels, BigInt(ts) / 1_000_000_000n, ts),
    ...pressureMetrics('cpu', cg.psi.cpu, labels, ts),
    ...pressureMetrics('memory', cg.psi.memory, labels, ts),
    ...pressureMetrics('io', cg.psi.io, labels, ts),
  ];
}

/** The pod's own metrics: its network, under cAdvisor's name for the sandbox ("POD"). */
export function podNetworkMetrics(s: SandboxStats): Metric[] {
  const ts = s.timestampNs;
  return s.interfaces.flatMap((i) => {
    const labels = [s.record.id, 'POD', '', i.name];
    const counters: Array<[string, bigint]> = [
      ['receive_bytes', i.rxBytes], ['transmit_bytes', i.txBytes], ['receive_packets', i.rxPackets], ['transmit_packets', i.txPackets],
      ['receive_errors', i.rxErrors], ['transmit_errors', i.txErrors], ['receive_packets_dropped', i.rxDropped], ['transmit_packets_dropped', i.txDropped],
    ];
    return counters.map(([what, v]) => metric(`container_network_${what}_total`, 'COUNTER', labels, v, ts));
  });
}

/** Every ready pod with its running containers; a pod or container gone meanwhile is left out. */
export function listPodSandboxMetrics(sandboxes: SandboxService, containers: ContainerService) {
  return async (): Promise<ListPodSandboxMetricsResponse> => {
    const pod_metrics: PodSandboxMetrics[] = [];
    for (const record of sandboxes.list().filter((r) => r.state === 'SANDBOX_READY')) {
      let stats: SandboxStats;
      try {
        stats = await sandboxes.stats(record.id);
      } catch {
        continue;
      }
      const container_metrics: ContainerMetrics[] = [];
      for (const c of await containers.list({ sandboxId: record.id, state: 'running' })) {
        try {
          container_metrics.push({ container_id: c.id, metrics: containerMetrics(await containers.stats(c.id)) });
        } catch {
          // removed between the list and the read
        }
      }
      pod_metrics.push({ pod_sandbox_id: record.id, metrics: podNetworkMetrics(stats), container_metrics });
    }
    return { pod_metrics };
  };
}
