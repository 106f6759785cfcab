import { stat } from 'node:fs/promises';
import type { Checkpointer } from '../container/checkpoint.js';
import { InvalidArgumentError, NotFoundError, UnimplementedError } from '../errors.js';
import type { CheckpointPodRequest, CheckpointPodResponse, RestorePodRequest, RestorePodResponse } from './generated/cri-types.js';

/**
 * CheckpointPod: the chosen (default: all running) containers of a pod into one dir at
 * output_path. The request carries no timeout; each dump gets the daemon's default bound.
 */
export function podCheckpoint(checkpointer: Checkpointer) {
  return async (req: CheckpointPodRequest): Promise<CheckpointPodResponse> => {
    if (!req.pod_sandbox_id) throw new InvalidArgumentError('pod_sandbox_id is required');
    if (!req.output_path) throw new InvalidArgumentError('output_path is required: the path of the pod checkpoint to write');
    await checkpointer.checkpointPod(req.pod_sandbox_id, req.container_ids ?? [], req.output_path, 0);
    return {};
  };
}

/**
 * RestorePod: the request is checked and CRIU asked, but the restore itself is not built;
 * where CRIU could run the answer is UNIMPLEMENTED, never a pod that was not restored.
 */
export function podRestore(checkpointer: Checkpointer) {
  return async (req: RestorePodRequest): Promise<RestorePodResponse> => {
    if (!req.checkpoint_path) throw new InvalidArgumentError('checkpoint_path is required: the pod checkpoint to restore');
    if (!req.config) throw new InvalidArgumentError('config is required: the pod sandbox config of the restored pod');
    const found = await stat(req.checkpoint_path).catch(() => null);
    if (!found) throw new NotFoundError(`checkpoint_path "${req.checkpoint_path}" does not exist`);
    await checkpointer.requireCriu(`cannot restore pod from ${req.checkpoint_path}`);
    throw new UnimplementedError('restoring a pod checkpoint is not built yet');
  };
}
