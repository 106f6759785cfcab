// `keelson run`: drives the daemon over CRI as kubelet would, for one pod at a time: volumes,
// images (by pull policy), the sandbox, init containers to completion in order, then the app
// containers. A failure undoes the pod, except a failed init container: that pod is kept with its
// logs (status Init:Error, as kubelet keeps it) until `down`/`rm`. Restarts and probes after that are the daemon's
// supervisor's (src/supervisor/), which finds the pod by its POD_SPEC_ANNOTATION.
import { randomUUID } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { isNotFound, type CriClient } from '../client/cri.js';
import { FailedPreconditionError, NotFoundError } from '../errors.js';
import { shortId } from '../id-index.js';
import { alreadyExists, existingPods, lockPodName } from './pod-guard.js';
import { INIT_FINAL_ANNOTATION } from '../supervisor/annotations.js';
import type { ContainerSpec, Pod } from '../kube/pod-types.js';
import { containerConfig, podKey, sandboxConfig, withDefaults, type EnvSources } from './pod-config.js';
import { VolumesClient } from '../client/volumes.js';
import { runPostStart } from '../client/supervisor-status.js';
import { csiVolumeRequests, mountsFor, podVolumeDir, prepareVolumes, removeVolumes, type PreparedVolumes, type VolumeSources } from './volumes.js';

/** Annotation naming the pod's volume dir, so `rm` and `down` can remove it. */
export const VOLUME_DIR_ANNOTATION = 'keelson.dev/volume-dir';
/** Annotation naming the pod's log dir: `keelson rm`/`down` remove it with the pod. */
export const LOG_DIR_ANNOTATION = 'keelson.dev/log-dir';

/** An init container failed for good; the pod is kept (kubelet keeps it too) for its logs. */
export class InitContainerFailedError extends FailedPreconditionError {}
/** SIGINT/SIGTERM reached the CLI while a pod was starting; the pod was removed. */
export class RunInterruptedError extends FailedPreconditionError {}

export interface RunOptions {
  /** The daemon's root dir: volumes go under <root>/pod-volumes/. */
  root: string;
  /** Pod log dirs go under it: <logRoot>/<ns>_<name>_<uid>/. */
  logRoot: string;
  sources: VolumeSources;
  /** The daemon's socket, for keelson.v1.Volumes (CSI volumes). */
  socket: string;
  pull: (image: string) => Promise<void>;
  say: (line: string) => void;
  /** First retry delay of a failed init container (doubles), and how many retries. */
  initBackoffMs?: number;
  initRetries?: number;
  /** Remove a pod of the same namespace/name first (podman kube play --replace). */
  replace?: boolean;
  /** Aborted on Ctrl-C: the pod being started is undone, init failure or not. */
  signal?: AbortSignal;
}

export interface StartedPod {
  id: string;
  name: string;
  namespace: string;
  ip: string;
  ports: Array<{ hostPort: number; containerPort: number; protocol: string }>;
  logDirectory: string;
  containers: Array<{ name: string; id: string }>;
}

function checkAborted(signal: AbortSignal | undefined, what: string): void {
  if (signal?.aborted) throw new RunInterruptedError(`interrupted while starting pod ${what}; the pod was removed`);
}

/** Sleeps, waking early (to throw) when the run is interrupted. */
function sleep(ms: number, signal?: AbortSignal, what = ''): Promise<void> {
  return new Promise((resolve, reject) => {
    const done = (): void => {
      signal?.removeEventListener('abort', stop);
      resolve();
    };
    const timer = setTimeout(done, ms);
    const stop = (): void => {
      clearTimeout(timer);
      reject(new RunInterruptedError(`interrupted while starting pod ${what}; the pod was removed`));
    };
    if (signal?.aborted) stop();
    else signal?.addEventListener('abort', stop, { once: true });
  });
}

async function ensureImages(client: CriClient, pod: Pod, opts: RunOptions): Promise<void> {
  const done = new Set<string>();
  // Image volumes are pulled by their own pullPolicy, as kubelet does before the containers.
  const imageVolumes = (pod.spec.volumes ?? []).flatMap((v) => (v.image
    ? [{ what: `volume ${v.name}`, image: v.image.reference, imagePullPolicy: v.image.pullPolicy }] : []));
  const containers = [...(pod.spec.initContainers ?? []), ...pod.spec.containers]
    .map((c) => ({ what: `container ${c.name}`, image: c.image, imagePullPolicy: c.imagePullPolicy }));
  for (const c of [...imageVolumes, ...containers]) {
    const key = `${c.image} ${c.imagePullPolicy ?? ''}`;
    if (done.has(key)) continue;
    done.add(key);
    const present = (await client.image.call('ImageStatus', { image: { image: c.image } })).image;
    if (c.imagePullPolicy === 'Never') {
      if (!present) throw new NotFoundError(`image ${c.image} (${c.what}) is not present and its pull policy is Never: import it with \`keelson image import\` or pull it with \`keelson pull\``);
      continue;
    }
    if (c.imagePullPolicy === 'Always' || !present) await opts.pull(c.image);
  }
}

async function waitForExit(client: CriClient, id: string, signal: AbortSignal | undefined, what: string): Promise<{ code: number; reason: string }> {
  for (;;) {
    const st = (await client.runtime.call('ContainerStatus', { container_id: id })).status;
    if (st?.state === 'CONTAINER_EXITED') return { code: st.exit_code ?? -1, reason: st.reason ?? '' };
    await sleep(200, signal, what);
  }
}

async function runInitContainer(
  client: CriClient, podId: string, cfg: ReturnType<typeof sandboxConfig>, pod: Pod, c: ContainerSpec,
  volumes: PreparedVolumes, env: EnvSources, opts: RunOptions,
): Promise<void> {
  const retries = pod.spec.restartPolicy === 'Never' ? 0 : opts.initRetries ?? 5;
  let delay = opts.initBackoffMs ?? 1000;
  const ns = pod.metadata.namespace ?? 'default';
  const what = `${ns}/${pod.metadata.name}`;
  for (let attempt = 0; ; attempt++) {
    const config = containerConfig(pod, c, 'init', await mountsFor(c, volumes, pod, podVolumeDir(opts.root, podKey(pod))), env, attempt);
    if (attempt >= retries) config.annotations = { ...config.annotations, [INIT_FINAL_ANNOTATION]: 'true' };
    const { container_id: id = '' } = await client.runtime.call('CreateContainer', { pod_sandbox_id: podId, config, sandbox_config: cfg });
    await client.runtime.call('StartContainer', { container_id: id ?? '' });
    const { code, reason } = await waitForExit(client, id ?? '', opts.signal, what);
    if (code === 0) return;
    if (attempt >= retries) {
      const ref = ns === 'default' ? pod.metadata.name : what;
      throw new InitContainerFailedError(`init container ${c.name} of pod ${what} exited with code ${code}` +
        (retries === 0 ? ' (restartPolicy Never)' : ` after ${attempt + 1} attempts`) + `; its log: ${cfg.log_directory ?? ''}/${c.name}/${attempt}.log; ` +
        `the pod is kept with status Init:${reason || 'Error'}: remove it with \`keelson down FILE\` or \`keelson rm ${ref}\``);
    }
    opts.say(`init container ${c.name} exited with code ${code}; retrying in ${delay / 1000}s`);
    await sleep(delay, opts.signal, what);
    delay = Math.min(delay * 2, 300_000);
  }
}

/** Runs one pod; on failure removes the sandbox and volumes it made and rethrows. */
export async function runPod(client: CriClient, manifestPod: Pod, opts: RunOptions): Promise<StartedPod> {
  const namespace = manifestPod.metadata.namespace ?? 'default';
  const lock = await lockPodName(opts.root, namespace, manifestPod.metadata.name);
  try {
    for (const old of await existingPods(client, namespace, manifestPod.metadata.name)) {
      if (!opts.replace) throw alreadyExists(old, namespace, manifestPod.metadata.name);
      await removePod(client, old.id ?? '');
      opts.say(`replaced: removed pod ${namespace}/${manifestPod.metadata.name} (${shortId(old.id, 12)})`);
    }
    return await runLockedPod(client, manifestPod, opts);
  } finally {
    lock.release();
  }
}

async function runLockedPod(client: CriClient, manifestPod: Pod, opts: RunOptions): Promise<StartedPod> {
  const what = `${manifestPod.metadata.namespace ?? 'default'}/${manifestPod.metadata.name}`;
  const pod = withDefaults(manifestPod, randomUUID());
  const key = podKey(pod);
  const volumeDir = podVolumeDir(opts.root, key);
  const logDirectory = join(opts.logRoot, key);
  await ensureImages(client, pod, opts);
  checkAborted(opts.signal, what);
  const csiRequests = csiVolumeRequests(pod, opts.sources);
  const volumes = await prepareVolumes(pod, volumeDir, opts.sources);
  let podId = '';
  try {
    const cfg = sandboxConfig(pod, logDirectory);
    cfg.annotations = { ...cfg.annotations, [VOLUME_DIR_ANNOTATION]: volumeDir, [LOG_DIR_ANNOTATION]: logDirectory };
    podId = (await client.runtime.call('RunPodSandbox', { config: cfg })).pod_sandbox_id ?? '';
    checkAborted(opts.signal, what);
    const status = (await client.runtime.call('PodSandboxStatus', { pod_sandbox_id: podId })).status;
    const ip = status?.network?.ip ?? '';
    const env: EnvSources = { podIP: ip, nodeName: hostname(), ...opts.sources };
    // CSI volumes belong to the sandbox: RemovePodSandbox unpublishes them in the daemon.
    if (csiRequests.length > 0) {
      const published = await new VolumesClient(opts.socket).publishPod({
        pod: { uid: pod.metadata.uid ?? '', name: pod.metadata.name, namespace: pod.metadata.namespace ?? 'default' },
        volumes: csiRequests,
      });
      for (const [name, path] of published) {
        opts.say(`volume ${name}: published by its CSI plugin at ${path}`);
        volumes.set(name, path);
      }
    }
    for (const c of pod.spec.initContainers ?? []) await runInitContainer(client, podId, cfg, pod, c, volumes, env, opts);
    const containers: StartedPod['containers'] = [];
    for (const c of pod.spec.containers) {
      checkAborted(opts.signal, what);
      const config = containerConfig(pod, c, 'app', await mountsFor(c, volumes, pod, volumeDir), env);
      const { container_id: id = '' } = await client.runtime.call('CreateContainer', { pod_sandbox_id: podId, config, sandbox_config: cfg });
      await client.runtime.call('StartContainer', { container_id: id ?? '' });
      // As kubelet: postStart right after the start, before the next container; the daemon
      // kills the container when it fails, and its supervisor restarts it per restartPolicy.
      if (c.lifecycle?.postStart) {
        const { hook } = await runPostStart(opts.socket, id ?? '');
        if (hook && !hook.ok) opts.say(`container ${c.name}: postStart hook failed (${hook.message}); the container was killed (FailedPostStartHook)`);
      }
      containers.push({ name: c.name, id: id ?? '' });
    }
    return {
      id: podId, name: pod.metadata.name, namespace: pod.metadata.namespace ?? 'default', ip, logDirectory, containers,
      ports: (cfg.port_mappings ?? []).map((p) => ({ hostPort: p.host_port ?? 0, containerPort: p.container_port ?? 0, protocol: p.protocol ?? 'TCP' })),
    };
  } catch (err) {
    // A failed init container keeps its pod, logs and volumes (unless the run was interrupted).
    if (err instanceof InitContainerFailedError && !opts.signal?.aborted) throw err;
    if (podId) await removePod(client, podId).catch(() => undefined);
    await removeVolumes(volumeDir).catch(() => undefined);
    await rm(logDirectory, { recursive: true, force: true }).catch(() => undefined);
    throw err;
  }
}

/** Stops and removes a sandbox (its containers go with it) and the volumes the CLI made for it. */
export async function removePod(client: CriClient, podId: string): Promise<void> {
  const status = (await client.runtime.call('PodSandboxStatus', { pod_sandbox_id: podId }).catch(() => ({ status: null }))).status;
  // A pod removed meanwhile answers NotFound to Stop; Remove then has nothing left to do.
  await client.runtime.call('StopPodSandbox', { pod_sandbox_id: podId }).catch((err: unknown) => {
    if (!isNotFound(err)) throw err;
  });
  await client.runtime.call('RemovePodSandbox', { pod_sandbox_id: podId });
  const dir = status?.annotations?.[VOLUME_DIR_ANNOTATION];
  if (dir && dir.includes('/pod-volumes/')) await removeVolumes(dir);
  const logs = status?.annotations?.[LOG_DIR_ANNOTATION];
  if (logs && status?.metadata?.uid && logs.endsWith(`_${status.metadata.uid}`)) await rm(logs, { recursive: true, force: true });
}
