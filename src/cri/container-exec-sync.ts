import type { ContainerService } from '../container/service.js';
import { InvalidArgumentError } from '../errors.js';
import type { ExecSyncRequest, ExecSyncResponse } from './generated/cri-types.js';

export function containerExecSync(service: ContainerService) {
  return async (req: ExecSyncRequest): Promise<ExecSyncResponse> => {
    if (!req.container_id) throw new InvalidArgumentError('container_id is required');
    const timeout = Number(req.timeout ?? '0');
    if (!Number.isFinite(timeout) || timeout < 0) throw new InvalidArgumentError(`timeout "${req.timeout}" must be >= 0`);
    const result = await service.execSync(service.resolveId(req.container_id), req.cmd ?? [], timeout);
    return { stdout: result.stdout, stderr: result.stderr, exit_code: result.exitCode };
  };
}
