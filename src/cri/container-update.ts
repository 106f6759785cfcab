import type { ContainerService } from '../container/service.js';
import { InvalidArgumentError } from '../errors.js';
import type { UpdateContainerResourcesRequest, UpdateContainerResourcesResponse } from './generated/cri-types.js';
import { toResourceRequest } from './container-convert.js';

export function containerUpdate(service: ContainerService) {
  return async (req: UpdateContainerResourcesRequest): Promise<UpdateContainerResourcesResponse> => {
    if (!req.container_id) throw new InvalidArgumentError('container_id is required');
    await service.updateResources(service.resolveId(req.container_id), toResourceRequest(req.linux));
    return {};
  };
}
