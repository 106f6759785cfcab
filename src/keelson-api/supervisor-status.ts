// keelson.v1.Supervisor, daemon side (definition in ./definitions.ts), a keelson-only gRPC
// service beside CRI on the same socket. `keelson pods` reads restarts and readiness of the pods
// the daemon's supervisor watches (CRI has no field for them); `keelson down/rm/stop` stop a pod
// gracefully (StopPod) and `keelson run` has postStart hooks run (PostStart).
import type * as grpc from '@grpc/grpc-js';
import { InvalidArgumentError } from '../errors.js';
import type { Supervisor } from '../supervisor/supervisor.js';
import type { PostStartAnswer, PostStartRequest, StopPodRequest } from './definitions.js';
import { jsonServiceImplementation } from './json-service.js';

export { supervisorService } from './definitions.js';

function stopPodRequest(request: unknown): StopPodRequest {
  const r = (request ?? {}) as Partial<StopPodRequest>;
  if (typeof r.pod_sandbox_id !== 'string' || r.pod_sandbox_id === '') throw new InvalidArgumentError('StopPod: pod_sandbox_id is required');
  const grace = r.grace_seconds;
  if (grace !== undefined && grace !== null && (typeof grace !== 'number' || !Number.isInteger(grace) || grace < 0)) {
    throw new InvalidArgumentError(`StopPod: grace_seconds must be a whole number of seconds >= 0, not ${JSON.stringify(grace)}`);
  }
  return { pod_sandbox_id: r.pod_sandbox_id, ...(typeof grace === 'number' ? { grace_seconds: grace } : {}) };
}

export function supervisorImplementation(supervisor: Supervisor): grpc.UntypedServiceImplementation {
  return jsonServiceImplementation({
    Pods: async () => ({ pods: await supervisor.view() }),
    StopPod: async (request) => {
      const r = stopPodRequest(request);
      return supervisor.stopPod(r.pod_sandbox_id, r.grace_seconds);
    },
    PostStart: async (request): Promise<PostStartAnswer> => {
      const id = (request as Partial<PostStartRequest> | null)?.container_id;
      if (typeof id !== 'string' || id === '') throw new InvalidArgumentError('PostStart: container_id is required');
      const hook = await supervisor.postStart(id);
      return hook ? { hook } : {};
    },
  });
}
