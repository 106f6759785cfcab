import { InvalidArgumentError } from '../errors.js';
import type { SandboxService } from '../sandbox/service.js';
import type { StopPodSandboxRequest, StopPodSandboxResponse } from './generated/cri-types.js';

export function stopPodSandbox(sandboxes: SandboxService) {
  return async (request: StopPodSandboxRequest): Promise<StopPodSandboxResponse> => {
    if (!request.pod_sandbox_id) throw new InvalidArgumentError('pod_sandbox_id is required');
    await sandboxes.stop(request.pod_sandbox_id);
    return {};
  };
}
