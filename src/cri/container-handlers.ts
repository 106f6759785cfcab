// The container RPCs, merged into the handler table by handlers.ts.

import type { ContainerService } from '../container/service.js';
import type { RuntimeHandlers, RuntimeStreamHandlers } from './handler-types.js';
import { containerCreate, type CreateInPod } from './container-create.js';
import { containerEvents, type PodStatusLookup } from './container-events.js';
import { containerExecSync } from './container-exec-sync.js';
import { containerList } from './container-list.js';
import { containerRemove } from './container-remove.js';
import { containerReopenLog } from './container-reopen-log.js';
import { containerStart } from './container-start.js';
import { containerListStats, containerStats } from './container-stats.js';
import { containerStatus } from './container-status.js';
import { containerStop } from './container-stop.js';
import { containerUpdate } from './container-update.js';

/**
 * `create` makes a container in a pod: the daemon's goes through the pod orchestrator, under
 * the pod's lock (src/pod/); tests of the container service alone may call it directly.
 */
export function containerHandlers(
  service: ContainerService, create: CreateInPod = (pod, req) => service.create(pod, req), podStatus?: PodStatusLookup,
):
  { runtime: RuntimeHandlers; runtimeStreams: RuntimeStreamHandlers } {
  return {
    runtime: {
      CreateContainer: containerCreate(create),
      StartContainer: containerStart(service),
      StopContainer: containerStop(service),
      RemoveContainer: containerRemove(service),
      ContainerStatus: containerStatus(service),
      ListContainers: containerList(service),
      UpdateContainerResources: containerUpdate(service),
      ReopenContainerLog: containerReopenLog(service),
      ExecSync: containerExecSync(service),
      ContainerStats: containerStats(service),
      ListContainerStats: containerListStats(service),
    },
    runtimeStreams: {
      GetContainerEvents: containerEvents(service, podStatus),
    },
  };
}
