// The daemon's supervisor of pods that `keelson run` started (marked by the pod-spec
// annotation; kubelet's pods are kubelet's business): restartPolicy with kubelet's backoff
// (the first restart at once, then base doubling to a ceiling, reset after 10 minutes of running), and liveness, readiness and
// startup probes. It drives the container service in-process. A liveness or startup failure
// stops the container; the restart then follows the policy, as kubelet does: CreateContainer
// with attempt+1, start it, remove the old one. State lives in SupervisorStore. Lifecycle hooks
// (lifecycle.ts): postStart after every start, preStop before every kill, and the graceful pod
// stop behind `keelson down/rm/stop`, during which nothing of the pod is restarted or probed.
import type { PodService } from '../pod/service.js';
import type { ContainerService } from '../container/service.js';
import type { ContainerRecord } from '../container/types.js';
import type { ContainerSpec, Pod, Probe } from '../kube/pod-types.js';
import type { Logger } from '../logger.js';
import type { SandboxService } from '../sandbox/service.js';
import type { SandboxRecord } from '../sandbox/types.js';
import { nsToMs } from '../time.js';
import type { Db } from '../store/database.js';
import { messageOf, NotFoundError } from '../errors.js';
import { runHook, stopWithGrace, POST_START_TIMEOUT_SEC, type HookResult, type StopTarget } from './lifecycle.js';
import { runProbe } from './probes.js';
import { SupervisorStore, type ProbeResult, type SupervisedContainer } from './store.js';

import { CONTAINER_KIND_LABEL as KIND_LABEL, POD_SPEC_ANNOTATION } from './annotations.js';

export { POD_SPEC_ANNOTATION };
/** kubelet forgets the backoff of a container that ran this long. */
const BACKOFF_RESET_MS = 10 * 60_000;

export interface SupervisorOptions {
  db: Db;
  sandboxes: SandboxService;
  containers: ContainerService;
  /** A replacement container is created through the pod, under its lock. */
  pods: PodService;
  /** A restart whose image is gone pulls it again (imagePullPolicy permitting), as kubelet. */
  images: SupervisorImages;
  log: Logger;
  backoffBaseMs: number;
  backoffMaxMs: number;
  tickMs: number;
}

/** What the supervisor needs of the image service (in-process in the daemon). */
export interface SupervisorImages {
  resolve(ref: string): unknown;
  pull(ref: string): Promise<unknown>;
}

/** Why a container waits, kubelet's words: ErrImagePull, ImagePullBackOff, ErrImageNeverPull. */
interface Waiting {
  reason: 'ErrImagePull' | 'ErrImageNeverPull';
  message: string;
  failures: number;
}

export interface ContainerView {
  name: string;
  containerId: string;
  state: string;
  restarts: number;
  ready: boolean;
  started: boolean;
  exitCode: number;
  /** As kubectl shows it: the waiting reason below if any, else CRI's reason of an exited container (Completed, Error, OOMKilled); '' otherwise. */
  reason: string;
  /** kubelet's waiting reason while a restart cannot happen (ErrImagePull, ImagePullBackOff, ErrImageNeverPull); '' for none. */
  waitingReason: string;
  /** Epoch ms of the next restart when one is waiting out its backoff; 0 otherwise. */
  restartAt: number;
  backoffMs: number;
  lastProbe: ProbeResult | null;
  message: string;
  lastHook: HookResult | null;
}

export interface PodView {
  sandboxId: string;
  name: string;
  namespace: string;
  restartPolicy: string;
  ready: boolean;
  containers: ContainerView[];
}

export interface StopPodResult {
  sandboxId: string;
  graceSeconds: number;
  containers: Array<{ name: string; containerId: string; preStop: HookResult | null }>;
}

/** Probe counters of one running container; in memory (a restarted daemon starts them afresh). */
interface ProbeState {
  startedAtMs: number;
  next: Record<'liveness' | 'readiness' | 'startup', number>;
  successes: Record<'liveness' | 'readiness' | 'startup', number>;
  failures: Record<'liveness' | 'readiness' | 'startup', number>;
  inFlight: boolean;
}

export function podOf(record: SandboxRecord): Pod | null {
  const text = record.annotations[POD_SPEC_ANNOTATION];
  if (!text) return null;
  try {
    return JSON.parse(text) as Pod;
  } catch {
    return null;
  }
}

export class Supervisor {
  private readonly store: SupervisorStore;
  private readonly probes = new Map<string, ProbeState>();
  private readonly busy = new Set<string>();
  /** Image trouble per `<sandbox id>/<container name>`; in memory, as kubelet's. */
  private readonly waiting = new Map<string, Waiting>();
  /** Pods being stopped gracefully: no restart, no probe. */
  private readonly terminating = new Set<string>();
  /** Containers whose postStart runs: not probed until it is done, as kubelet. */
  private readonly hooking = new Set<string>();
  private timer: NodeJS.Timeout | null = null;
  private ticking = false;

  constructor(private readonly opts: SupervisorOptions) {
    this.store = new SupervisorStore(opts.db);
  }

  start(): void {
    this.timer = setInterval(() => void this.tick(), this.opts.tickMs);
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  private supervisedPods(): Array<{ record: SandboxRecord; pod: Pod }> {
    return this.opts.sandboxes.list().flatMap((record) => {
      const pod = podOf(record);
      return pod ? [{ record, pod }] : [];
    });
  }

  private async latest(sandboxId: string, name: string): Promise<ContainerRecord | null> {
    const all = await this.opts.containers.list({ sandboxId });
    let best: ContainerRecord | null = null;
    for (const c of all) {
      if (c.name !== name || c.labels[KIND_LABEL] === 'init') continue;
      if (!best || c.attempt > best.attempt) best = c;
    }
    return best;
  }

  async tick(): Promise<void> {
    if (this.ticking) return;
    this.ticking = true;
    try {
      const pods = this.supervisedPods();
      const live = new Set(pods.map((p) => p.record.id));
      this.store.prune(live);
      for (const key of this.waiting.keys()) if (!live.has(key.slice(0, key.indexOf('/')))) this.waiting.delete(key);
      for (const { record, pod } of pods) {
        if (record.state !== 'SANDBOX_READY' || this.terminating.has(record.id)) continue;
        for (const spec of pod.spec.containers) {
          const key = `${record.id}/${spec.name}`;
          if (this.busy.has(key) || this.hooking.has(key)) continue;
          try {
            await this.superviseContainer(record, pod, spec, key);
          } catch (err) {
            this.opts.log.warn({ err, pod: record.id, container: spec.name }, 'supervisor step failed');
          }
        }
      }
    } finally {
      this.ticking = false;
    }
  }

  private async superviseContainer(record: SandboxRecord, pod: Pod, spec: ContainerSpec, key: string): Promise<void> {
    const current = await this.latest(record.id, spec.name);
    if (!current) return; // the CLI has not created it yet
    const row = this.store.get(record.id, spec.name);
    const now = Date.now();
    if (current.state === 'running') {
      const startedMs = nsToMs(current.startedAt);
      if (row.backoffMs > 0 && now - startedMs > BACKOFF_RESET_MS) {
        row.backoffMs = 0;
        this.store.put(row);
      }
      this.probeIfDue(record, spec, current, row);
      return;
    }
    if (current.state !== 'exited') return;
    this.probes.delete(current.id);
    if (row.ready || row.handledExitId !== current.id) {
      const policy = pod.spec.restartPolicy ?? 'Always';
      const restart = policy === 'Always' || (policy === 'OnFailure' && current.exitCode !== 0);
      if (row.handledExitId !== current.id) {
        row.handledExitId = current.id;
        if (restart) {
          // kubelet restarts the first crash at once; backoffMs is the wait for the next one.
          const delay = row.backoffMs;
          row.backoffMs = delay === 0 ? this.opts.backoffBaseMs : Math.min(delay * 2, this.opts.backoffMaxMs);
          row.restartAt = Math.max(now, nsToMs(current.finishedAt) + delay);
          this.opts.log.info({ pod: record.id, container: spec.name, exitCode: current.exitCode, delayMs: delay }, 'container exited; restart after backoff');
        } else {
          row.restartAt = 0;
        }
      }
      row.ready = false;
      row.started = false;
      this.store.put(row);
    }
    // Checked again here, synchronously with busy.add: stopPod may have begun since the tick started.
    if (row.restartAt > 0 && now >= row.restartAt && !this.terminating.has(record.id)) {
      if (this.opts.images.resolve(current.request.image) === null) {
        this.pullForRestart(spec, current, row, key);
        return;
      }
      this.busy.add(key);
      try {
        const id = await this.restart(current, row);
        this.waiting.delete(key);
        // postStart runs outside the tick so a slow hook holds up no other pod.
        if (id && spec.lifecycle?.postStart) {
          this.hooking.add(key);
          void this.postStartOf(record, pod, spec, id)
            .catch((err: unknown) => this.opts.log.warn({ err, container: id }, 'postStart handling failed'))
            .finally(() => this.hooking.delete(key));
        }
      } catch (err) {
        // Could not even create the new attempt (image gone, pod stopping): back off again.
        row.backoffMs = Math.min(Math.max(row.backoffMs, this.opts.backoffBaseMs) * 2, this.opts.backoffMaxMs);
        row.restartAt = Date.now() + row.backoffMs;
        this.store.put(row);
        this.opts.log.warn({ err, container: current.id, backoffMs: row.backoffMs }, 'restart failed; trying again after backoff');
      } finally {
        this.busy.delete(key);
      }
    }
  }

  /**
   * The image of a due restart is gone (`keelson rmi --force`, say): pull it again unless the
   * policy is Never, as kubelet does before it creates a container. The pull runs in the
   * background (the key stays busy) so one slow registry does not hold up every other pod;
   * once it is in, the next tick restarts. A failure backs off like a failed restart.
   */
  private pullForRestart(spec: ContainerSpec, current: ContainerRecord, row: SupervisedContainer, key: string): void {
    const image = current.request.image;
    if ((spec.imagePullPolicy ?? 'IfNotPresent') === 'Never') {
      this.imageFailed(key, row, 'ErrImageNeverPull', `Container image "${image}" is not present with pull policy of Never`);
      return;
    }
    this.busy.add(key);
    this.opts.log.info({ container: current.id, image }, 'image of a container to restart is gone; pulling it');
    void this.opts.images.pull(image)
      .then(() => {
        if (this.opts.images.resolve(image) === null) {
          // Pulled, yet the name still finds nothing: back off rather than pull in a loop.
          this.imageFailed(key, this.store.get(row.sandboxId, row.name), 'ErrImagePull', `Failed to pull image "${image}": pulled, but no image answers to that name`);
          return;
        }
        this.waiting.delete(key);
        this.opts.log.info({ container: current.id, image }, 'image pulled again for the restart');
      }, (err: unknown) => {
        this.imageFailed(key, this.store.get(row.sandboxId, row.name), 'ErrImagePull', `Failed to pull image "${image}": ${messageOf(err)}`);
      })
      .catch((err: unknown) => this.opts.log.warn({ err, container: current.id }, 'handling a failed pull failed'))
      .finally(() => this.busy.delete(key));
  }

  private imageFailed(key: string, row: SupervisedContainer, reason: Waiting['reason'], message: string): void {
    const failures = (this.waiting.get(key)?.failures ?? 0) + 1;
    this.waiting.set(key, { reason, message, failures });
    row.backoffMs = Math.min(Math.max(row.backoffMs, this.opts.backoffBaseMs) * 2, this.opts.backoffMaxMs);
    row.restartAt = Date.now() + row.backoffMs;
    this.store.put(row);
    this.opts.log.warn({ sandbox: row.sandboxId, container: row.name, reason, message, backoffMs: row.backoffMs }, 'cannot restart: image');
  }

  /** kubelet's way: a new container with attempt+1, started, then the old one removed. Answers its id if it started. */
  private async restart(old: ContainerRecord, row: SupervisedContainer): Promise<string | null> {
    const attempt = old.attempt + 1;
    const logPath = old.request.logPath.replace(/\/\d+\.log$/, `/${attempt}.log`);
    const id = await this.opts.pods.createContainer(old.sandboxId, { ...old.request, attempt, logPath });
    let started = true;
    try {
      await this.opts.containers.start(id);
    } catch (err) {
      // A start that fails leaves an exited container: the next tick backs off from it.
      started = false;
      this.opts.log.warn({ err, container: id }, 'restarted container failed to start');
    }
    await this.opts.containers.remove(old.id);
    row.restartAt = 0;
    this.store.put(row);
    this.opts.log.info({ sandbox: old.sandboxId, container: old.name, attempt }, 'container restarted');
    return started ? id : null;
  }

  private stopTarget(record: SandboxRecord, spec: ContainerSpec | undefined, containerId: string): StopTarget {
    return {
      containerId, podIp: record.hostNetwork ? '127.0.0.1' : record.ips[0] ?? '127.0.0.1',
      container: spec ?? { name: '', image: '' },
      execSync: (id, cmd, t) => this.opts.containers.execSync(id, cmd, t),
      stop: (id, t) => this.opts.containers.stop(id, t),
    };
  }

  private recordHook(record: SandboxRecord, spec: ContainerSpec, containerId: string, hook: HookResult): void {
    const row = this.store.get(record.id, spec.name);
    row.lastHook = hook;
    this.store.put(row);
    if (!hook.ok) this.opts.log.warn({ pod: record.id, container: containerId, name: spec.name, hook: hook.kind, message: hook.message }, `${hook.kind} hook failed`);
  }

  /** kubelet's postStart: run it; if it fails, kill the container (preStop first), which then restarts per policy. */
  private async postStartOf(record: SandboxRecord, pod: Pod, spec: ContainerSpec, containerId: string): Promise<HookResult | null> {
    const handler = spec.lifecycle?.postStart;
    if (!handler) return null;
    const target = this.stopTarget(record, spec, containerId);
    const hook = await runHook('postStart', handler, target, POST_START_TIMEOUT_SEC);
    this.recordHook(record, spec, containerId, hook);
    if (!hook.ok) {
      this.opts.log.info({ container: containerId }, 'killing the container: its postStart hook failed (FailedPostStartHook)');
      await stopWithGrace(spec, target, pod.spec.terminationGracePeriodSeconds ?? 30);
    }
    return hook;
  }

  /** The PostStart call of `keelson run`, right after it started an app container. */
  async postStart(containerId: string): Promise<HookResult | null> {
    const c = await this.opts.containers.status(containerId);
    const record = this.opts.sandboxes.get(c.sandboxId);
    if (!record) throw new NotFoundError(`pod sandbox ${c.sandboxId} of container ${containerId} not found`);
    const pod = podOf(record);
    const spec = c.labels[KIND_LABEL] === 'init' ? undefined : pod?.spec.containers.find((s) => s.name === c.name);
    if (!pod || !spec) return null;
    const key = `${record.id}/${spec.name}`;
    this.hooking.add(key);
    try {
      return await this.postStartOf(record, pod, spec, c.id);
    } finally {
      this.hooking.delete(key);
    }
  }

  /**
   * kubelet's pod deletion: the pod is marked terminating (no restart, no probe), every live
   * container gets preStop and its stop signal in parallel under one grace period (the pod's
   * terminationGracePeriodSeconds unless overridden; 0 kills at once), then the sandbox stops.
   */
  async stopPod(ref: string, graceSec?: number): Promise<StopPodResult> {
    const record = this.opts.sandboxes.resolve(ref);
    const pod = podOf(record);
    this.terminating.add(record.id);
    try {
      // A restart already under way finishes first, so its new container is stopped too.
      for (let waited = 0; [...this.busy].some((k) => k.startsWith(`${record.id}/`)) && waited < 30_000; waited += 50) {
        await new Promise((r) => setTimeout(r, 50));
      }
      const grace = graceSec ?? pod?.spec.terminationGracePeriodSeconds ?? 30;
      const live = (await this.opts.containers.list({ sandboxId: record.id })).filter((c) => c.state !== 'exited');
      const containers = await Promise.all(live.map(async (c) => {
        const spec = c.labels[KIND_LABEL] === 'init' ? undefined : pod?.spec.containers.find((s) => s.name === c.name);
        const hook = await stopWithGrace(spec, this.stopTarget(record, spec, c.id), grace);
        if (hook && spec) this.recordHook(record, spec, c.id, hook);
        return { name: c.name, containerId: c.id, preStop: hook };
      }));
      // Whatever is left (nothing, normally) is killed here, as containerd's StopPodSandbox does.
      await this.opts.pods.stopPod(record.id);
      return { sandboxId: record.id, graceSeconds: grace, containers };
    } finally {
      this.terminating.delete(record.id);
    }
  }

  private probeIfDue(record: SandboxRecord, spec: ContainerSpec, current: ContainerRecord, row: SupervisedContainer): void {
    let state = this.probes.get(current.id);
    const now = Date.now();
    if (!state) {
      const startedAtMs = nsToMs(current.startedAt);
      const first = (p: Probe | undefined): number => startedAtMs + (p?.initialDelaySeconds ?? 0) * 1000;
      state = {
        startedAtMs,
        next: { liveness: first(spec.livenessProbe), readiness: first(spec.readinessProbe), startup: first(spec.startupProbe) },
        successes: { liveness: 0, readiness: 0, startup: 0 },
        failures: { liveness: 0, readiness: 0, startup: 0 },
        inFlight: false,
      };
      this.probes.set(current.id, state);
      row.started = !spec.startupProbe;
      row.ready = !spec.readinessProbe && row.started;
      this.store.put(row);
    }
    if (state.inFlight || this.terminating.has(record.id)) return;
    const kind = !row.started ? 'startup' : spec.livenessProbe && now >= state.next.liveness ? 'liveness'
      : spec.readinessProbe && now >= state.next.readiness ? 'readiness' : null;
    if (!kind) return;
    const probe = kind === 'startup' ? spec.startupProbe : kind === 'liveness' ? spec.livenessProbe : spec.readinessProbe;
    if (!probe || now < state.next[kind]) return;
    state.inFlight = true;
    const st = state;
    const podIp = record.hostNetwork ? '127.0.0.1' : record.ips[0] ?? '127.0.0.1';
    const pod = podOf(record);
    void runProbe(probe, { containerId: current.id, podIp, container: spec, execSync: (id, cmd, t) => this.opts.containers.execSync(id, cmd, t) })
      .then(async (outcome) => {
        st.next[kind] = Date.now() + (probe.periodSeconds ?? 10) * 1000;
        const fresh = this.store.get(record.id, spec.name);
        fresh.lastProbe = { kind, ok: outcome.ok, message: outcome.message, at: Date.now() };
        if (outcome.ok) {
          st.failures[kind] = 0;
          st.successes[kind]++;
          if (st.successes[kind] >= (kind === 'readiness' ? probe.successThreshold ?? 1 : 1)) {
            if (kind === 'startup') {
              fresh.started = true;
              fresh.ready = !spec.readinessProbe;
            }
            if (kind === 'readiness') fresh.ready = true;
          }
          this.store.put(fresh);
          return;
        }
        st.successes[kind] = 0;
        st.failures[kind]++;
        const threshold = probe.failureThreshold ?? 3;
        if (kind === 'readiness') {
          if (st.failures[kind] >= threshold) fresh.ready = false;
          this.store.put(fresh);
          return;
        }
        this.store.put(fresh);
        if (st.failures[kind] >= threshold) {
          this.opts.log.info({ container: current.id, kind, message: outcome.message }, 'probe failed; stopping the container');
          // kubelet's grace: the probe's own, else the pod's terminationGracePeriodSeconds.
          // preStop runs first, as kubelet does before a liveness kill.
          const hook = await stopWithGrace(spec, this.stopTarget(record, spec, current.id),
            probe.terminationGracePeriodSeconds ?? pod?.spec.terminationGracePeriodSeconds ?? 30);
          if (hook) this.recordHook(record, spec, current.id, hook);
        }
      })
      .catch((err: unknown) => this.opts.log.warn({ err, container: current.id }, 'probe handling failed'))
      .finally(() => {
        st.inFlight = false;
      });
  }

  /** What `keelson pods` shows: every supervised pod with restarts and readiness. */
  async view(): Promise<PodView[]> {
    const out: PodView[] = [];
    for (const { record, pod } of this.supervisedPods()) {
      const containers: ContainerView[] = [];
      for (const spec of pod.spec.containers) {
        const current = await this.latest(record.id, spec.name);
        const row = this.store.get(record.id, spec.name);
        const running = current?.state === 'running';
        const waiting = running ? undefined : this.waiting.get(`${record.id}/${spec.name}`);
        // kubelet says ErrImagePull when a pull has just failed, ImagePullBackOff when it waits to try again.
        const reason = !waiting ? '' : waiting.reason === 'ErrImagePull' && waiting.failures > 1 ? 'ImagePullBackOff' : waiting.reason;
        containers.push({
          name: spec.name, containerId: current?.id ?? '', state: current?.state ?? 'waiting', restarts: current?.attempt ?? 0,
          ready: running && row.ready, started: running && row.started, exitCode: current?.exitCode ?? 0,
          restartAt: row.restartAt, backoffMs: row.backoffMs, lastProbe: row.lastProbe, lastHook: row.lastHook,
          reason: reason || (current?.state === 'exited' ? current.reason : ''), waitingReason: reason,
          message: waiting && reason === 'ImagePullBackOff' ? `Back-off pulling image "${current?.request.image ?? spec.image}": ${waiting.message}` : waiting?.message ?? '',
        });
      }
      out.push({
        sandboxId: record.id, name: record.metadata.name, namespace: record.metadata.namespace,
        restartPolicy: pod.spec.restartPolicy ?? 'Always',
        ready: record.state === 'SANDBOX_READY' && containers.length > 0 && containers.every((c) => c.ready), containers,
      });
    }
    return out;
  }
}
