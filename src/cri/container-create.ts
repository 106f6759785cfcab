import type { ContainerService } from '../container/service.js';
import { InvalidArgumentError } from '../errors.js';
import type { CreateContainerRequest, CreateContainerResponse } from './generated/cri-types.js';
import { toContainerRequest } from './container-convert.js';

export function containerCreate(service: ContainerService) {
  return async (req: CreateContainerRequest): Promise<CreateContainerResponse> => {
    if (!req.pod_sandbox_id) throw new InvalidArgumentError('pod_sandbox_id is required');
    const id = await service.create(req.pod_sandbox_id, toContainerRequest(req.config));
    return { container_id: id };
  };
}
