import type { ContainerService } from '../container/service.js';
import { InvalidArgumentError, NotFoundError } from '../errors.js';
import type { RemoveContainerRequest, RemoveContainerResponse } from './generated/cri-types.js';

/** Removing an unknown container is not an error. */
export function containerRemove(service: ContainerService) {
  return async (req: RemoveContainerRequest): Promise<RemoveContainerResponse> => {
    if (!req.container_id) throw new InvalidArgumentError('container_id is required');
    let id: string;
    try {
      id = service.resolveId(req.container_id);
    } catch (err) {
      if (err instanceof NotFoundError) return {};
      throw err;
    }
    await service.remove(id);
    return {};
  };
}
