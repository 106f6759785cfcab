import type { ContainerService } from '../container/service.js';
import { InvalidArgumentError } from '../errors.js';
import type { StartContainerRequest, StartContainerResponse } from './generated/cri-types.js';

export function containerStart(service: ContainerService) {
  return async (req: StartContainerRequest): Promise<StartContainerResponse> => {
    if (!req.container_id) throw new InvalidArgumentError('container_id is required');
    await service.start(service.resolveId(req.container_id));
    return {};
  };
}
