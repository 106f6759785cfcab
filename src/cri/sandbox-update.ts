import { InvalidArgumentError } from '../errors.js';
import type { PodService } from '../pod/service.js';
import type { UpdatePodSandboxResourcesRequest, UpdatePodSandboxResourcesResponse } from './generated/cri-types.js';
import { podResourcesOf } from './sandbox-run.js';

/**
 * UpdatePodSandboxResources (in-place pod resize): the pod's new limits plus the runtime class
 * overhead, written to the pod cgroup. kubelet writes its own pod cgroup too; on a cgroup keelson
 * made (`keelson run`, no cgroup_parent) these writes are the only ones.
 */
export function updatePodSandboxResources(pods: PodService) {
  return async (req: UpdatePodSandboxResourcesRequest): Promise<UpdatePodSandboxResourcesResponse> => {
    if (!req.pod_sandbox_id) throw new InvalidArgumentError('pod_sandbox_id is required');
    await pods.updatePodResources(req.pod_sandbox_id, podResourcesOf(req.resources ?? null, req.overhead ?? null));
    return {};
  };
}
