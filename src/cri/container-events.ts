import type { ContainerEventType as DomainEventType } from '../container/events.js';
import type { ContainerService } from '../container/service.js';
import type { ServerStream } from './handler-types.js';
import type { ContainerEventResponse, ContainerEventType, GetEventsRequest, PodSandboxStatus } from './generated/cri-types.js';
import { toCriStatus } from './container-convert.js';

const TYPES: Record<DomainEventType, ContainerEventType> = {
  created: 'CONTAINER_CREATED_EVENT', started: 'CONTAINER_STARTED_EVENT',
  stopped: 'CONTAINER_STOPPED_EVENT', deleted: 'CONTAINER_DELETED_EVENT',
};

/** The pod's status by sandbox id, or null when it is gone (or not known to this table). */
export type PodStatusLookup = (sandboxId: string) => PodSandboxStatus | null;

/**
 * GetContainerEvents: every later lifecycle event, until the client goes away. As containerd,
 * each carries the pod's status and the statuses of all of the pod's containers at that moment
 * (evented PLEG builds the pod's state from the event alone); a deleted container is no longer
 * among them.
 */
export function containerEvents(service: ContainerService, podStatus: PodStatusLookup = () => null) {
  return (_req: GetEventsRequest, stream: ServerStream<ContainerEventResponse>): Promise<void> =>
    new Promise((resolve) => {
      // Statuses are read asynchronously: chain the writes so events leave in the order they came.
      let tail: Promise<void> = Promise.resolve();
      const off = service.events.subscribe((event) => {
        const response: ContainerEventResponse = {
          container_id: event.containerId, container_event_type: TYPES[event.type], created_at: event.createdAt,
        };
        const pod = event.sandboxId ? podStatus(event.sandboxId) : null;
        const statuses = event.sandboxId
          ? service.list({ sandboxId: event.sandboxId }).then((records) => records.map(toCriStatus))
          : service.status(event.containerId).then((record) => [toCriStatus(record)]);
        const settled = statuses.catch(() => []);
        tail = tail.then(async () => {
          stream.write({ ...response, ...(pod ? { pod_sandbox_status: pod } : {}), containers_statuses: await settled });
        });
      });
      stream.onCancel(() => { off(); resolve(); });
    });
}
