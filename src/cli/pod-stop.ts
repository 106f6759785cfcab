// The graceful pod stop behind `keelson down`, `rm` and `stop`, as kubelet deletes a pod: the
// daemon runs preStop, sends each container its stop signal and waits the grace period
// (keelson.v1.Supervisor/StopPod) for pods `keelson run` made. Other pods (kubelet's, crictl's)
// get StopContainer with the timeout, all at once, then StopPodSandbox.
import { Option } from 'commander';
import type { CriClient } from '../client/cri.js';
import { stopPodGracefully } from '../client/supervisor-status.js';
import type { PodSandbox } from '../cri/generated/cri-types.js';
import { InvalidArgumentError } from '../errors.js';
import type { Pod } from '../kube/pod-types.js';
import { POD_SPEC_ANNOTATION } from '../supervisor/annotations.js';

/** StopContainer's timeout for pods without a pod spec, when none is given (as `crictl stop`). */
const DEFAULT_FALLBACK_SEC = 10;

export interface GraceFlags {
  gracePeriod?: string;
  timeout?: string;
}

/** `--grace-period N` (kubectl's name) and `-t, --timeout N` (crictl's and podman's): the same thing. */
export function graceOptions(): [Option, Option] {
  return [
    new Option('--grace-period <seconds>', "seconds from the stop signal to SIGKILL, preStop included (default: the pod's terminationGracePeriodSeconds, 30; 0 kills at once)"),
    new Option('-t, --timeout <seconds>', 'the same as --grace-period'),
  ];
}

export function parseGrace(flags: GraceFlags): number | undefined {
  const text = flags.gracePeriod ?? flags.timeout;
  if (text === undefined) return undefined;
  if (!/^\d+$/.test(text)) throw new InvalidArgumentError(`--grace-period/-t must be a whole number of seconds >= 0, not "${text}"`);
  return Number(text);
}

function podSpecOf(pod: PodSandbox): Pod | null {
  const text = pod.annotations?.[POD_SPEC_ANNOTATION];
  if (!text) return null;
  try {
    return JSON.parse(text) as Pod;
  } catch {
    return null;
  }
}

/** Stops the pod gracefully; its sandbox is left stopped (NotReady), for `rm` to remove or `stop` to keep. */
export async function stopPod(client: CriClient, socket: string, pod: PodSandbox, graceSec: number | undefined): Promise<void> {
  const id = pod.id ?? '';
  const spec = podSpecOf(pod);
  if (spec) {
    await stopPodGracefully(socket, id, graceSec, graceSec ?? spec.spec.terminationGracePeriodSeconds ?? 30);
    return;
  }
  const timeout = graceSec ?? DEFAULT_FALLBACK_SEC;
  const containers = (await client.runtime.call('ListContainers', { filter: { pod_sandbox_id: id } })).containers ?? [];
  await Promise.all(containers.filter((c) => c.state === 'CONTAINER_RUNNING' || c.state === 'CONTAINER_CREATED')
    .map((c) => client.runtime.call('StopContainer', { container_id: c.id ?? '', timeout: String(timeout) })));
  await client.runtime.call('StopPodSandbox', { pod_sandbox_id: id });
}
