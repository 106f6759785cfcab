import type { ContainerService } from '../container/service.js';
import { InvalidArgumentError } from '../errors.js';
import type { ReopenContainerLogRequest, ReopenContainerLogResponse } from './generated/cri-types.js';

export function containerReopenLog(service: ContainerService) {
  return async (req: ReopenContainerLogRequest): Promise<ReopenContainerLogResponse> => {
    if (!req.container_id) throw new InvalidArgumentError('container_id is required');
    await service.reopenLog(service.resolveId(req.container_id));
    return {};
  };
}
