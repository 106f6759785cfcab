import type { ContainerService } from '../container/service.js';
import { InvalidArgumentError } from '../errors.js';
import type { ContainerStatusRequest, ContainerStatusResponse } from './generated/cri-types.js';
import { toCriStatus } from './container-convert.js';

export function containerStatus(service: ContainerService) {
  return async (req: ContainerStatusRequest): Promise<ContainerStatusResponse> => {
    if (!req.container_id) throw new InvalidArgumentError('container_id is required');
    const record = await service.status(req.container_id);
    const response: ContainerStatusResponse = { status: toCriStatus(record) };
    if (req.verbose) {
      response.info = {
        info: JSON.stringify({
          pid: record.pid, sandboxID: record.sandboxId, runtimeHandler: record.runtimeHandler,
          cgroupsPath: record.cgroupsPath, config: record.request,
        }),
      };
    }
    return response;
  };
}
