import { InvalidArgumentError } from '../errors.js';
import type { PodService } from '../pod/service.js';
import type { RemovePodSandboxRequest, RemovePodSandboxResponse } from './generated/cri-types.js';

export function removePodSandbox(pods: PodService) {
  return async (request: RemovePodSandboxRequest): Promise<RemovePodSandboxResponse> => {
    if (!request.pod_sandbox_id) throw new InvalidArgumentError('pod_sandbox_id is required');
    await pods.removePod(request.pod_sandbox_id);
    return {};
  };
}
