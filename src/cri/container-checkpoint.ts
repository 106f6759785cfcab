import type { Checkpointer } from '../container/checkpoint.js';
import { InvalidArgumentError } from '../errors.js';
import type { CheckpointContainerRequest, CheckpointContainerResponse } from './generated/cri-types.js';

/**
 * CheckpointContainer (KEP-2008): the container keeps running and its checkpoint archive is
 * written at `location`. An unknown id is NotFound, as in containerd and CRI-O.
 */
export function containerCheckpoint(checkpointer: Checkpointer) {
  return async (req: CheckpointContainerRequest): Promise<CheckpointContainerResponse> => {
    if (!req.container_id) throw new InvalidArgumentError('container_id is required');
    if (!req.location) throw new InvalidArgumentError('location is required: the path of the checkpoint archive to write');
    await checkpointer.checkpointContainer(req.container_id, req.location, timeoutMs(req.timeout));
    return {};
  };
}

/** The request's timeout in seconds as ms; 0 (unset) leaves the daemon's default. */
export function timeoutMs(timeout: string | null | undefined): number {
  const seconds = Number(timeout ?? '0');
  if (!Number.isSafeInteger(seconds) || seconds < 0) throw new InvalidArgumentError(`timeout "${timeout}" must be a whole number of seconds >= 0`);
  return seconds * 1000;
}
