import type { ContainerService } from '../container/service.js';
import { InvalidArgumentError } from '../errors.js';
import type { StopContainerRequest, StopContainerResponse } from './generated/cri-types.js';

/**
 * Stopping an already stopped container is not an error (kubelet retries); an unknown id is
 * NotFound, as containerd answers (RemoveContainer of an unknown id is the idempotent one).
 */
export function containerStop(service: ContainerService) {
  return async (req: StopContainerRequest): Promise<StopContainerResponse> => {
    if (!req.container_id) throw new InvalidArgumentError('container_id is required');
    const timeout = Number(req.timeout ?? '0');
    if (!Number.isFinite(timeout) || timeout < 0) throw new InvalidArgumentError(`timeout "${req.timeout}" must be >= 0`);
    await service.stop(service.resolveId(req.container_id), timeout);
    return {};
  };
}
