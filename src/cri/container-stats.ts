import type { ContainerStats as DomainStats } from '../container/queries.js';
import type { ContainerService } from '../container/service.js';
import { InvalidArgumentError } from '../errors.js';
import type {
  ContainerStats, ContainerStatsRequest, ContainerStatsResponse, ListContainerStatsRequest, ListContainerStatsResponse,
} from './generated/cri-types.js';

function toCriStats(s: DomainStats): ContainerStats {
  const t = s.timestampNs;
  return {
    attributes: { id: s.id, metadata: { name: s.record.name, attempt: s.record.attempt }, labels: s.record.labels, annotations: s.record.annotations },
    cpu: { timestamp: t, usage_core_nano_seconds: { value: s.cpuUsageNs.toString() } },
    memory: { timestamp: t, working_set_bytes: { value: s.memoryWorkingSetBytes.toString() } },
    writable_layer: { timestamp: t, used_bytes: { value: String(s.writableLayerBytes) }, inodes_used: { value: String(s.writableLayerInodes) } },
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
