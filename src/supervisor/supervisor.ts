// The daemon's supervisor of pods that `keelson run` started (marked by the pod-spec
// annotation; kubelet's pods are kubelet's business): restartPolicy with kubelet's backoff
// (the first restart at once, then base doubling to a ceiling, reset after 10 minutes of running), and liveness, readiness and
// startup probes. It drives the container service in-process. A liveness or startup failure
// stops the container; the restart then follows the policy, as kubelet does: CreateContainer
// with attempt+1, start it, remove the old one. State lives in SupervisorStore.
import type { PodService } from '../pod/service.js';
import type { ContainerService } from '../container/service.js';
import type { ContainerRecord } from '../container/types.js';
import type { ContainerSpec, Pod, Probe } from '../kube/pod-types.js';
import type { Logger } from '../logger.js';
import type { SandboxService } from '../sandbox/service.js';
import type { SandboxRecord } from '../sandbox/types.js';
import { nsToMs } from '../time.js';
import type { Db } from '../store/database.js';
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
  log: Logger;
  backoffBaseMs: number;
  backoffMaxMs: number;
  tickMs: number;
}

export interface ContainerView {
  name: string;
  containerId: string;
  state: string;
  restarts: number;
  ready: boolean;
  started: boolean;
  exitCode: number;
  /** CRI's reason of an exited container: Completed, Error or OOMKilled; '' otherwise. */
  reason: string;
  /** Epoch ms of the next restart when one is waiting out its backoff; 0 otherwise. */
  restartAt: number;
  backoffMs: number;
  lastProbe: ProbeResult | null;
}

export interface PodView {
  sandboxId: string;
  name: string;
  namespace: string;
  restartPolicy: string;
  ready: boolean;
  containers: ContainerView[];
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
      this.store.prune(new Set(pods.map((p) => p.record.id)));
      for (const { record, pod } of pods) {
        if (record.state !== 'SANDBOX_READY') continue;
        for (const spec of pod.spec.containers) {
          const key = `${record.id}/${spec.name}`;
          if (this.busy.has(key)) continue;
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
    if (row.restartAt > 0 && now >= row.restartAt) {
      this.busy.add(key);
      try {
        await this.restart(current, row);
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

  /** kubelet's way: a new container with attempt+1, started, then the old one removed. */
  private async restart(old: ContainerRecord, row: SupervisedContainer): Promise<void> {
    const attempt = old.attempt + 1;
    const logPath = old.request.logPath.replace(/\/\d+\.log$/, `/${attempt}.log`);
    const id = await this.opts.pods.createContainer(old.sandboxId, { ...old.request, attempt, logPath });
    try {
      await this.opts.containers.start(id);
    } catch (err) {
      // A start that fails leaves an exited container: the next tick backs off from it.
      this.opts.log.warn({ err, container: id }, 'restarted container failed to start');
    }
    await this.opts.containers.remove(old.id);
    row.restartAt = 0;
    this.store.put(row);
    this.opts.log.info({ sandbox: old.sandboxId, container: old.name, attempt }, 'container restarted');
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
    if (state.inFlight) return;
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
          await this.opts.containers.stop(current.id, probe.terminationGracePeriodSeconds ?? pod?.spec.terminationGracePeriodSeconds ?? 30);
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
        containers.push({
          name: spec.name, containerId: current?.id ?? '', state: current?.state ?? 'waiting', restarts: current?.attempt ?? 0,
          ready: running && row.ready, started: running && row.started, exitCode: current?.exitCode ?? 0,
          reason: current?.state === 'exited' ? current.reason : '',
          restartAt: row.restartAt, backoffMs: row.backoffMs, lastProbe: row.lastProbe,
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
