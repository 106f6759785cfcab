// Container lifecycle as kubelet runs it: postStart right after a start (a failure kills the
// container, which then restarts per restartPolicy), and a graceful stop: preStop, then the
// stop signal, SIGKILL when the grace period is over. One grace period covers both.
import type { ContainerSpec, LifecycleHandler } from '../kube/pod-types.js';
import { runProbe, type ProbeOutcome, type ProbeTarget } from './probes.js';

/** kubelet's floor for the stop signal's share of the grace once preStop has used some. */
export const MIN_GRACE_AFTER_PRESTOP_SEC = 2;
/** kubelet sets no timeout on postStart; keelson bounds it so a stuck hook cannot pin a call forever. */
export const POST_START_TIMEOUT_SEC = 120;

export interface HookResult {
  kind: 'postStart' | 'preStop';
  ok: boolean;
  message: string;
  /** Epoch ms. */
  at: number;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Runs one hook within `timeoutSec` (fractions allowed); a handler with nothing keelson runs succeeds. */
export async function runHook(kind: HookResult['kind'], handler: LifecycleHandler, target: ProbeTarget, timeoutSec: number): Promise<HookResult> {
  const at = Date.now();
  if (handler.sleep) {
    await sleep(Math.min(handler.sleep.seconds, timeoutSec) * 1000);
    return { kind, ok: true, message: `slept ${Math.min(handler.sleep.seconds, timeoutSec)} s`, at };
  }
  if (!handler.exec && !handler.httpGet) return { kind, ok: true, message: 'no exec, httpGet or sleep: nothing to run', at };
  // A hook is a probe attempt without thresholds: same exec, same HTTP GET to the pod IP.
  const outcome: ProbeOutcome = await runProbe({ exec: handler.exec, httpGet: handler.httpGet, timeoutSeconds: timeoutSec }, target);
  return { kind, ok: outcome.ok, message: outcome.message, at };
}

export interface StopTarget extends ProbeTarget {
  /** Stop signal, wait up to timeoutSec, then SIGKILL (the container service's stop). */
  stop(id: string, timeoutSec: number): Promise<void>;
}

/**
 * kubelet's killContainer: preStop (when the grace period is above 0), then the stop signal
 * with what is left of the grace (at least 2 s after a preStop, as kubelet), then SIGKILL.
 * A grace of 0 kills at once, without preStop. Answers the preStop result, if one ran.
 */
export async function stopWithGrace(spec: ContainerSpec | undefined, target: StopTarget, graceSec: number): Promise<HookResult | null> {
  const started = Date.now();
  let hook: HookResult | null = null;
  const preStop = spec?.lifecycle?.preStop;
  if (graceSec > 0 && preStop) hook = await runHook('preStop', preStop, target, graceSec);
  const used = (Date.now() - started) / 1000;
  const left = graceSec <= 0 ? 0 : hook ? Math.max(MIN_GRACE_AFTER_PRESTOP_SEC, graceSec - used) : graceSec;
  await target.stop(target.containerId, left);
  return hook;
}
