import type { ContainerStats as DomainStats } from '../container/queries.js';
import type { ContainerService } from '../container/service.js';
import { InvalidArgumentError } from '../errors.js';
import { cpuUsageOf, ioUsageOf, memoryUsageOf, swapUsageOf } from './usage-convert.js';
import type {
  ContainerStats, ContainerStatsRequest, ContainerStatsResponse, ListContainerStatsRequest, ListContainerStatsResponse,
} from './generated/cri-types.js';

export function toCriStats(s: DomainStats): ContainerStats {
  const t = s.timestampNs;
  const cg = s.cgroup;
  const swap = cg ? swapUsageOf(cg, t) : undefined;
  const io = cg ? ioUsageOf(cg, t) : undefined;
  return {
    attributes: { id: s.id, metadata: { name: s.record.name, attempt: s.record.attempt }, labels: s.record.labels, annotations: s.record.annotations },
    // A stopped container has no cgroup: zeros, as containerd reports.
    cpu: cg ? cpuUsageOf(cg, t, s.usageNanoCores) : { timestamp: t, usage_core_nano_seconds: { value: '0' } },
    memory: cg ? memoryUsageOf(cg, t) : { timestamp: t, working_set_bytes: { value: '0' } },
    writable_layer: { timestamp: t, used_bytes: { value: String(s.writableLayerBytes) }, inodes_used: { value: String(s.writableLayerInodes) } },
    ...(swap ? { swap } : {}),
    ...(io ? { io } : {}),
  };
}

export function containerStats(service: ContainerService) {
  return async (req: ContainerStatsRequest): Promise<ContainerStatsResponse> => {
    if (!req.container_id) throw new InvalidArgumentError('container_id is required');
    return { stats: toCriStats(await service.stats(req.container_id)) };
  };
}

export function containerListStats(service: ContainerService) {
  return async (req: ListContainerStatsRequest): Promise<ListContainerStatsResponse> => {
    const f = req.filter;
    const stats = await service.listStats({
      id: f?.id || undefined, sandboxId: f?.pod_sandbox_id || undefined, labelSelector: f?.label_selector ?? undefined,
    });
    return { stats: stats.map(toCriStats) };
  };
}
