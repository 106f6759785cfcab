import { InvalidArgumentError } from '../errors.js';
import type { SandboxService } from '../sandbox/service.js';
import type { RemovePodSandboxRequest, RemovePodSandboxResponse } from './generated/cri-types.js';

export function removePodSandbox(sandboxes: SandboxService) {
  return async (request: RemovePodSandboxRequest): Promise<RemovePodSandboxResponse> => {
    if (!request.pod_sandbox_id) throw new InvalidArgumentError('pod_sandbox_id is required');
    await sandboxes.remove(request.pod_sandbox_id);
    return {};
  };
}
