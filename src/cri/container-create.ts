import type { ContainerRequest } from '../container/types.js';
import { InvalidArgumentError } from '../errors.js';
import type { CreateContainerRequest, CreateContainerResponse } from './generated/cri-types.js';
import { toContainerRequest } from './container-convert.js';

/** Creates a container in a pod (by sandbox id or unique prefix); returns its id. */
export type CreateInPod = (sandboxId: string, request: ContainerRequest) => Promise<string>;

export function containerCreate(create: CreateInPod) {
  return async (req: CreateContainerRequest): Promise<CreateContainerResponse> => {
    if (!req.pod_sandbox_id) throw new InvalidArgumentError('pod_sandbox_id is required');
    const id = await create(req.pod_sandbox_id, toContainerRequest(req.config));
    return { container_id: id };
  };
}
