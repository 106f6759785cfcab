import type { NodeInfo } from './node-info.js';
import type { ImageService } from '../image/image-service.js';
import type { ImageHandlers, ImageStreamHandlers, RuntimeHandlers, RuntimeStreamHandlers } from './handler-types.js';
import { streamFromList } from './stream-lists.js';
import { containerHandlers } from './container-handlers.js';
import { runtimeConfig } from './runtime-config.js';
import { updateRuntimeConfig } from './runtime-config-update.js';
import type { PodService } from '../pod/service.js';
import { runPodSandbox } from './sandbox-run.js';
import { stopPodSandbox } from './sandbox-stop.js';
import { updatePodSandboxResources } from './sandbox-update.js';
import { listMetricDescriptors, listPodSandboxMetrics } from './sandbox-metrics.js';
import { removePodSandbox } from './sandbox-remove.js';
import { podSandboxStatus, statusOf } from './sandbox-status.js';
import { listPodSandbox } from './sandbox-list.js';
import { listPodSandboxStats, podSandboxStats } from './sandbox-stats.js';
import { status } from './status.js';
import { version } from './version.js';
import { imageFsInfo } from './image-fs-info.js';
import { imageList } from './image-list.js';
import { imagePull } from './image-pull.js';
import { imageRemove } from './image-remove.js';
import { imageStatus } from './image-status.js';
import type { StreamUrls } from '../stream/server.js';
import { containerExec } from './container-exec.js';
import { containerAttach } from './container-attach.js';
import { sandboxPortForward } from './sandbox-port-forward.js';
import type { Checkpointer } from '../container/checkpoint.js';
import { containerCheckpoint } from './container-checkpoint.js';
import { podCheckpoint, podRestore } from './pod-checkpoint.js';

export interface CriDependencies {
  node: NodeInfo;
  /** Pods: their sandboxes and containers. */
  pods?: PodService;
  images?: ImageService;
  stream?: StreamUrls;
  /** CheckpointContainer, CheckpointPod and RestorePod. */
  checkpoint?: Checkpointer;
}

/** The table of implemented RPCs. A method absent here answers UNIMPLEMENTED. */
export function criHandlers(deps: CriDependencies): {
  runtime: RuntimeHandlers;
  image: ImageHandlers;
  runtimeStreams: RuntimeStreamHandlers;
  imageStreams: ImageStreamHandlers;
} {
  const sandboxes = deps.pods?.sandboxes;
  const containerService = deps.pods?.containers;
  const pods = deps.pods;
  const sandboxRpcs = pods ? sandboxHandlers(pods) : {};
  const containers = pods ? containerHandlers(pods.containers, (sandbox, req) => pods.createContainer(sandbox, req), (id) => {
    const record = pods.sandboxes.get(id);
    return record ? statusOf(record) : null;
  }) : { runtime: {}, runtimeStreams: {} };
  return {
    runtime: {
      Version: version,
      Status: status(deps.node),
      RuntimeConfig: runtimeConfig(deps.node),
      UpdateRuntimeConfig: updateRuntimeConfig(deps.node),
      ...sandboxRpcs,
      ...containers.runtime,
      ...(deps.stream && containerService ? { Exec: containerExec(containerService, deps.stream) } : {}),
      ...(deps.stream && containerService ? { Attach: containerAttach(containerService, deps.stream) } : {}),
      ...(deps.stream && sandboxes ? { PortForward: sandboxPortForward(sandboxes, deps.stream) } : {}),
      ...(deps.checkpoint ? {
        CheckpointContainer: containerCheckpoint(deps.checkpoint),
        CheckpointPod: podCheckpoint(deps.checkpoint),
        RestorePod: podRestore(deps.checkpoint),
      } : {}),
    },
    runtimeStreams: { ...containers.runtimeStreams, ...listStreams(containers.runtime, sandboxRpcs) },
    imageStreams: deps.images ? { StreamImages: streamFromList(imageList(deps.images), (r) => r.images, (images) => ({ images })) } : {},
    image: {
      ...(deps.images ? {
        PullImage: imagePull(deps.images, () => deps.node.runtimeHandlers()),
        ImageStatus: imageStatus(deps.images),
        ListImages: imageList(deps.images),
        RemoveImage: imageRemove(deps.images),
        ImageFsInfo: imageFsInfo(deps.images),
      } : {}),
    },
  };
}

function sandboxHandlers(pods: PodService): RuntimeHandlers {
  const sandboxes = pods.sandboxes;
  return {
    RunPodSandbox: runPodSandbox(pods),
    StopPodSandbox: stopPodSandbox(pods),
    RemovePodSandbox: removePodSandbox(pods),
    PodSandboxStatus: podSandboxStatus(sandboxes, pods.containers),
    ListPodSandbox: listPodSandbox(sandboxes),
    PodSandboxStats: podSandboxStats(sandboxes, pods.containers),
    ListPodSandboxStats: listPodSandboxStats(sandboxes, pods.containers),
    UpdatePodSandboxResources: updatePodSandboxResources(pods),
    ListMetricDescriptors: listMetricDescriptors(),
    ListPodSandboxMetrics: listPodSandboxMetrics(sandboxes, pods.containers),
  };
}

/** The Stream* form of every unary list this daemon serves. */
function listStreams(containers: RuntimeHandlers, sandboxes: RuntimeHandlers): RuntimeStreamHandlers {
  const streams: RuntimeStreamHandlers = {};
  if (containers.ListContainers) streams.StreamContainers = streamFromList(containers.ListContainers, (r) => r.containers, (c) => ({ containers: c }));
  if (containers.ListContainerStats) {
    streams.StreamContainerStats = streamFromList(containers.ListContainerStats, (r) => r.stats, (s) => ({ container_stats: s }));
  }
  if (sandboxes.ListPodSandbox) streams.StreamPodSandboxes = streamFromList(sandboxes.ListPodSandbox, (r) => r.items, (p) => ({ pod_sandboxes: p }));
  if (sandboxes.ListPodSandboxStats) {
    streams.StreamPodSandboxStats = streamFromList(sandboxes.ListPodSandboxStats, (r) => r.stats, (s) => ({ pod_sandbox_stats: s }));
  }
  if (sandboxes.ListPodSandboxMetrics) {
    streams.StreamPodSandboxMetrics = streamFromList(sandboxes.ListPodSandboxMetrics, (r) => r.pod_metrics, (m) => ({ pod_sandbox_metrics: m }));
  }
  return streams;
}
