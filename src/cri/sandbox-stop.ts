import { InvalidArgumentError } from '../errors.js';
import type { PodService } from '../pod/service.js';
import type { StopPodSandboxRequest, StopPodSandboxResponse } from './generated/cri-types.js';

export function stopPodSandbox(pods: PodService) {
  return async (request: StopPodSandboxRequest): Promise<StopPodSandboxResponse> => {
    if (!request.pod_sandbox_id) throw new InvalidArgumentError('pod_sandbox_id is required');
    await pods.stopPod(request.pod_sandbox_id);
    return {};
  };
}
