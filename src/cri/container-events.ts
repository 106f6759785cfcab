import type { ContainerEventType as DomainEventType } from '../container/events.js';
import type { ContainerService } from '../container/service.js';
import type { ServerStream } from './handler-types.js';
import type { ContainerEventResponse, ContainerEventType, GetEventsRequest } from './generated/cri-types.js';
import { toCriStatus } from './container-convert.js';

const TYPES: Record<DomainEventType, ContainerEventType> = {
  created: 'CONTAINER_CREATED_EVENT', started: 'CONTAINER_STARTED_EVENT',
  stopped: 'CONTAINER_STOPPED_EVENT', deleted: 'CONTAINER_DELETED_EVENT',
};

/** GetContainerEvents: every later lifecycle event, until the client goes away. */
export function containerEvents(service: ContainerService) {
  return (_req: GetEventsRequest, stream: ServerStream<ContainerEventResponse>): Promise<void> =>
    new Promise((resolve) => {
      const off = service.events.subscribe((event) => {
        const response: ContainerEventResponse = {
          container_id: event.containerId, container_event_type: TYPES[event.type], created_at: event.createdAt,
        };
        // The record is gone after a delete; for the others, send its status at that moment.
        service.status(event.containerId).then(
          (record) => stream.write({ ...response, containers_statuses: [toCriStatus(record)] }),
          () => stream.write({ ...response, containers_statuses: [] }),
        );
      });
      stream.onCancel(() => { off(); resolve(); });
    });
}
