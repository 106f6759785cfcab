// The STATUS column of `keelson pods`, worked out as kubectl's pod printer does: the first init
// container not done decides (Init:N/M, Init:Error, Init:OOMKilled, Init:CrashLoopBackOff);
// after that the first app container with a waiting or terminated reason (ImagePullBackOff, CrashLoopBackOff,
// Error, OOMKilled, Completed), and "Completed" with another container running becomes
// Running, or NotReady when not every container is ready.
import type { ContainerView } from '../supervisor/supervisor.js';

export interface InitContainerState {
  /** 'missing' when no attempt exists yet. */
  state: 'missing' | 'created' | 'running' | 'exited' | 'unknown';
  exitCode: number;
  reason: string;
  /** The CLI will not retry it (restartPolicy Never, or its retries are used up). */
  final: boolean;
}

export type AppContainerState = Pick<ContainerView, 'state' | 'ready' | 'exitCode' | 'reason' | 'restartAt'> & { waitingReason?: string };

function terminatedReason(c: { exitCode: number; reason: string }): string {
  return c.reason || (c.exitCode === 0 ? 'Completed' : 'Error');
}

export function podStatus(sandboxReady: boolean, init: InitContainerState[], app: AppContainerState[], nowMs: number): string {
  if (!sandboxReady) return 'Stopped';
  for (const [i, c] of init.entries()) {
    if (c.state === 'exited' && c.exitCode === 0) continue;
    if (c.state === 'exited') return c.final ? `Init:${terminatedReason(c)}` : 'Init:CrashLoopBackOff';
    return `Init:${i}/${init.length}`;
  }
  let status = 'Running';
  let hasRunning = false;
  // Backwards, so the first container's reason is the one left, as in kubectl.
  for (const c of [...app].reverse()) {
    if (c.waitingReason) status = c.waitingReason; // ErrImagePull and the like say more than CrashLoopBackOff
    else if (c.state === 'exited' && c.restartAt > nowMs) status = 'CrashLoopBackOff';
    else if (c.state === 'exited') status = terminatedReason(c);
    else if (c.state !== 'running') status = 'ContainerCreating';
    else if (c.ready) hasRunning = true;
  }
  if (status === 'Completed' && hasRunning) return app.every((c) => c.ready && c.state === 'running') ? 'Running' : 'NotReady';
  return status;
}
