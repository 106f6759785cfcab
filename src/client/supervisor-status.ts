// The client of keelson.v1.Supervisor (src/keelson-api/supervisor-status.ts): `keelson pods`,
// `inspect`, the graceful stop of `down`/`rm`/`stop`, and postStart for `run`.
import {
  supervisorService, type PostStartAnswer, type StopPodAnswer, type StopPodRequest, type SupervisorAnswer,
} from '../keelson-api/definitions.js';
import { callJsonService } from './json-call.js';

export type { PostStartAnswer, StopPodAnswer, SupervisorAnswer } from '../keelson-api/definitions.js';

/** Time the call gets beyond the grace period (preStop and the stop itself are inside the grace). */
const CALL_SLACK_MS = 60_000;

/** The client side: every supervised pod. */
export async function supervisedPods(socketPath: string): Promise<SupervisorAnswer> {
  return (await callJsonService<SupervisorAnswer | undefined>(socketPath, supervisorService, 'Pods', {})) ?? { pods: [] };
}

/** The daemon stops the pod gracefully; `maxGraceSec` bounds how long that may take. */
export async function stopPodGracefully(socketPath: string, podId: string, graceSec: number | undefined, maxGraceSec: number): Promise<StopPodAnswer> {
  const request: StopPodRequest = { pod_sandbox_id: podId, ...(graceSec === undefined ? {} : { grace_seconds: graceSec }) };
  return callJsonService<StopPodAnswer>(socketPath, supervisorService, 'StopPod', request, maxGraceSec * 1000 + CALL_SLACK_MS);
}

/** Runs the container's postStart hook in the daemon (nothing when it has none). */
export async function runPostStart(socketPath: string, containerId: string): Promise<PostStartAnswer> {
  // postStart is bounded at 120 s in the daemon, and a failed one is followed by a graceful kill.
  return (await callJsonService<PostStartAnswer | undefined>(socketPath, supervisorService, 'PostStart', { container_id: containerId }, 600_000)) ?? {};
}
