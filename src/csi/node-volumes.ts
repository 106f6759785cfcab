// A pod's CSI volumes on this node, as kubelet drives them: a named volume is attached
// (ControllerPublishVolume, when the controller offers it) and staged (NodeStageVolume, when
// the node offers STAGE_UNSTAGE_VOLUME) once per node, and published (NodePublishVolume) once
// per pod; an inline ephemeral volume is only published. Teardown goes the other way, and the
// last pod to let go of a volume unstages and detaches it.
//
// Paths, as the CSI spec assigns them: keelson creates and removes the staging dir
// (<root>/csi/staging/<driver>/<hash>) and the parent of each publish target
// (<root>/csi/pods/<uid>/<volume>); the plugin creates and removes the target (`.../mount`).
//
// Every step is recorded before its call (src/csi/store.ts), so a failure or a daemon restart
// in the middle can be finished or undone by calling the same idempotent RPCs again.
//
// A plugin that is restarting or otherwise unavailable is waited for, as kubelet keeps retrying
// a volume's setup while the pod stays ContainerCreating: every call of a publish (and of its
// undo, and of a pod's teardown) is retried within one window (`waitMs`, the config's
// call_timeout_seconds) while the plugin is unavailable. A call that never reached the plugin
// (no connection) needs no undo on its side.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, rm, rmdir } from 'node:fs/promises';
import { join } from 'node:path';
import { InvalidArgumentError, KeelsonError, NotFoundError, messageOf } from '../errors.js';
import type { Logger } from '../logger.js';
import { KeyedLock } from '../keyed-lock.js';
import { mountPoints } from '../sandbox/mounts.js';
import { CsiCallError } from './client.js';
import type { VolumeCapability } from './generated/csi-types.js';
import type { CsiPlugin, PluginRegistry } from './registry.js';
import type { CsiStore, Publish, Staging } from './store.js';
import { mountCapability, nodeExpand } from './volume-calls.js';

export interface PodRef {
  uid: string;
  name: string;
  namespace: string;
  serviceAccount?: string;
}

export type PodVolumeSource =
  | { kind: 'inline'; driver: string; attributes: Record<string, string>; readOnly: boolean; fsType: string; secrets: Record<string, string> }
  | { kind: 'named'; volume: string; readOnly: boolean };

export interface PodVolumeRequest {
  /** The volume's name in the pod spec. */
  name: string;
  source: PodVolumeSource;
}

const UID = /^[A-Za-z0-9][A-Za-z0-9-]{0,127}$/;
const VOLUME_NAME = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const EPHEMERAL = 'csi.storage.k8s.io/ephemeral';

/** kubelet's id of an inline ephemeral volume: csi-<sha256(pod uid + volume name)>. */
export function ephemeralVolumeId(podUid: string, volumeName: string): string {
  return `csi-${createHash('sha256').update(podUid + volumeName).digest('hex')}`;
}

/** True when NodeUnpublish/NodeUnstage of something already gone answered NOT_FOUND: done, per spec. */
function isNotFound(err: unknown): boolean {
  return err instanceof CsiCallError && err.code === 'NOT_FOUND';
}

/** Publishes of this daemon run whose NodePublishVolume has not (yet) reached the plugin. */
const publishUnsent = new WeakSet<Publish>();

export class NodeVolumes {
  readonly #podLocks = new KeyedLock();
  readonly #volumeLocks = new KeyedLock();
  readonly #store: CsiStore;
  readonly #registry: PluginRegistry;
  readonly #root: string;
  readonly #log: Logger;
  readonly #waitMs: number;

  /** waitMs: how long a publish or teardown waits for a plugin that is unavailable (restarting). */
  constructor(opts: { store: CsiStore; registry: PluginRegistry; root: string; log: Logger; waitMs?: number }) {
    this.#waitMs = opts.waitMs ?? 120_000;
    this.#store = opts.store;
    this.#registry = opts.registry;
    this.#root = join(opts.root, 'csi');
    this.#log = opts.log.child({ module: 'csi' });
  }

  podDir(uid: string): string {
    return join(this.#root, 'pods', uid);
  }

  /**
   * Publishes every CSI volume of a pod; answers each volume's host path (the publish target).
   * All or nothing: a failure undoes what this call did and rethrows. Already published
   * volumes of the same pod (a retry) are answered as they are.
   */
  async publishPod(pod: PodRef, requests: PodVolumeRequest[]): Promise<Map<string, string>> {
    if (!UID.test(pod.uid)) throw new InvalidArgumentError(`pod uid "${pod.uid}" is not a valid uid`);
    const seen = new Set<string>();
    for (const r of requests) {
      if (!VOLUME_NAME.test(r.name)) throw new InvalidArgumentError(`volume name "${r.name}" must be a DNS label (lower case letters, digits, '-')`);
      if (seen.has(r.name)) throw new InvalidArgumentError(`volume name "${r.name}" appears twice`);
      seen.add(r.name);
    }
    return this.#podLocks.run(pod.uid, async () => {
      const paths = new Map<string, string>();
      const made: Publish[] = [];
      const deadline = Date.now() + this.#waitMs;
      try {
        for (const r of requests) {
          const existing = this.#store.publishes({ podUid: pod.uid }).find((p) => p.volumeName === r.name);
          if (existing?.state === 'published') {
            paths.set(r.name, existing.targetPath);
            continue;
          }
          if (existing) await this.#unpublish(existing, deadline);
          const rec = await this.#publishOne(pod, r, made, deadline);
          paths.set(r.name, rec.targetPath);
        }
        return paths;
      } catch (err) {
        // The undo gets a window of its own: the publish may have used all of its one.
        const undoDeadline = Date.now() + this.#waitMs;
        for (const rec of made.reverse()) {
          await this.#unpublish(rec, undoDeadline).catch((e: unknown) => this.#log.error({ pod: pod.uid, volume: rec.volumeName, err: messageOf(e) }, 'undoing a CSI publish failed; left for the retry loop'));
        }
        if (this.#store.publishes({ podUid: pod.uid }).length === 0) {
          await this.#removePodDir(pod.uid).catch((e: unknown) => this.#log.error({ pod: pod.uid, err: messageOf(e) }, 'removing the pod CSI dir failed'));
        }
        throw err;
      }
    });
  }

  /** Unpublishes every CSI volume of a pod (and unstages what no pod uses any more). Idempotent. */
  async unpublishPod(uid: string): Promise<void> {
    // Most pods (all of kubelet's) have no CSI volumes of keelson's: nothing to read or lock.
    // A uid that could never have been published (say "", which would name the pods dir itself) has nothing.
    if (!UID.test(uid) || (this.#store.publishes({ podUid: uid }).length === 0 && !existsSync(this.podDir(uid)))) return;
    await this.#podLocks.run(uid, async () => {
      const problems: string[] = [];
      const deadline = Date.now() + this.#waitMs;
      for (const rec of this.#store.publishes({ podUid: uid })) {
        try {
          await this.#unpublish(rec, deadline);
        } catch (err) {
          problems.push(`${rec.volumeName}: ${messageOf(err)}`);
        }
      }
      if (problems.length > 0) throw new KeelsonError('Unavailable', `CSI volumes of pod ${uid} could not be unpublished: ${problems.join('; ')}`);
      await this.#removePodDir(uid);
    });
  }

  /**
   * Finishes or undoes what a previous daemon left half done: publishes and stagings in a
   * transitional state, and published volumes of pods that no longer exist (`podExists`).
   * Answers how many records are still pending (a plugin was unreachable).
   */
  async reconcile(podExists: (uid: string) => boolean): Promise<number> {
    let pending = 0;
    for (const seen of this.#store.publishes()) {
      if (seen.state === 'published' && podExists(seen.podUid)) continue;
      await this.#podLocks.run(seen.podUid, async () => {
        // Read again under the pod's lock: a publish in flight then is finished.
        const rec = this.#store.publishes({ podUid: seen.podUid }).find((p) => p.volumeName === seen.volumeName);
        if (!rec || (rec.state === 'published' && podExists(rec.podUid))) return;
        try {
          this.#log.info({ pod: rec.podUid, volume: rec.volumeName, state: rec.state }, 'cleaning up a CSI publish left by a previous run');
          await this.#unpublish(rec, 0); // no waiting: the next pass retries
          if (this.#store.publishes({ podUid: rec.podUid }).length === 0) await this.#removePodDir(rec.podUid);
        } catch (err) {
          pending++;
          this.#log.warn({ pod: rec.podUid, volume: rec.volumeName, err: messageOf(err) }, 'CSI publish cleanup failed; will retry');
        }
      });
    }
    for (const s of this.#store.stagings()) {
      if (s.state === 'staged' && this.#store.publishes({ driver: s.driver, volumeId: s.volumeId }).length > 0) continue;
      try {
        await this.#releaseIfUnused(s.driver, s.volumeId, 0);
      } catch (err) {
        pending++;
        this.#log.warn({ driver: s.driver, volume: s.volumeId, err: messageOf(err) }, 'CSI unstage failed; will retry');
      }
    }
    return pending;
  }

  async #publishOne(pod: PodRef, r: PodVolumeRequest, made: Publish[], deadline: number): Promise<Publish> {
    const src = r.source;
    let driver: string;
    let volumeId: string;
    let context: Record<string, string>;
    let fsType = '';
    let namedVolume = '';
    let secrets: Record<string, string> = {};
    const podInfo: Record<string, string> = {
      'csi.storage.k8s.io/pod.name': pod.name, 'csi.storage.k8s.io/pod.namespace': pod.namespace,
      'csi.storage.k8s.io/pod.uid': pod.uid, 'csi.storage.k8s.io/serviceAccount.name': pod.serviceAccount ?? 'default',
    };
    if (src.kind === 'named') {
      const vol = this.#store.volume(src.volume);
      if (!vol) throw new NotFoundError(`volume "${src.volume}" (pod volume ${r.name}) does not exist; create it with \`keelson volume create ${src.volume} --driver DRIVER --size SIZE\``);
      ({ driver, volumeId } = vol);
      namedVolume = vol.name;
      context = { ...vol.context, ...podInfo };
    } else {
      driver = src.driver;
      volumeId = ephemeralVolumeId(pod.uid, r.name);
      context = { ...src.attributes, ...podInfo, [EPHEMERAL]: 'true' };
      fsType = src.fsType;
      secrets = src.secrets;
    }
    const plugin = await this.#registry.available(driver, deadline);
    const parent = join(this.podDir(pod.uid), r.name);
    const rec: Publish = {
      podUid: pod.uid, volumeName: r.name, podName: pod.name, podNamespace: pod.namespace, driver, volumeId, namedVolume,
      ephemeral: src.kind === 'inline', readOnly: src.readOnly, targetPath: join(parent, 'mount'), stagingPath: '',
      state: 'publishing', createdAt: Date.now(),
    };
    // Recorded first: a concurrent teardown of another pod then sees this volume as in use.
    this.#store.putPublish(rec);
    made.push(rec);
    publishUnsent.add(rec);
    const capability = mountCapability(fsType);
    const staging = rec.ephemeral ? null : await this.#attachAndStage(plugin, volumeId, context, capability, deadline);
    rec.stagingPath = staging?.path ?? '';
    this.#store.putPublish(rec);
    await mkdir(parent, { recursive: true, mode: 0o750 });
    await this.#call(plugin, deadline, (p) => p.client.node('NodePublishVolume', {
      volume_id: volumeId, publish_context: staging?.publishContext ?? {}, staging_target_path: rec.stagingPath,
      target_path: rec.targetPath, volume_capability: capability, readonly: rec.readOnly, secrets, volume_context: context,
    }), () => publishUnsent.delete(rec));
    rec.state = 'published';
    this.#store.putPublish(rec);
    if (namedVolume !== '') await this.#finishExpansion(plugin, namedVolume, rec);
    this.#log.info({ pod: pod.uid, volume: r.name, driver, volumeId, target: rec.targetPath }, 'CSI volume published');
    return rec;
  }

  /** NodeExpandVolume owed by a `volume expand` while the volume was mounted nowhere. */
  async #finishExpansion(plugin: CsiPlugin, name: string, rec: Publish): Promise<void> {
    const vol = this.#store.volume(name);
    if (!vol?.nodeExpansionPending) return;
    try {
      const capacity = await nodeExpand(plugin, vol.volumeId, rec.targetPath, rec.stagingPath, vol.capacityBytes);
      this.#store.putVolume({ ...vol, capacityBytes: capacity ?? vol.capacityBytes, nodeExpansionPending: false });
      this.#log.info({ volume: name, capacity: capacity ?? vol.capacityBytes }, 'finished a volume expansion on the node');
    } catch (err) {
      // The pod can run on the old size, as under kubelet; the next publish tries again.
      this.#log.warn({ volume: name, err: messageOf(err) }, 'NodeExpandVolume failed; will retry at the next publish');
    }
  }

  /** ControllerPublish and NodeStage once per volume on this node; null when neither applies. */
  async #attachAndStage(plugin: CsiPlugin, volumeId: string, context: Record<string, string>, capability: VolumeCapability, deadline: number): Promise<Staging | null> {
    const attach = plugin.hasController('PUBLISH_UNPUBLISH_VOLUME');
    const stage = plugin.hasNode('STAGE_UNSTAGE_VOLUME');
    if (!attach && !stage) return null;
    return this.#volumeLocks.run(`${plugin.name}/${volumeId}`, async () => {
      const known = this.#store.staging(plugin.name, volumeId);
      if (known?.state === 'staged') return known;
      const s: Staging = known ?? {
        driver: plugin.name, volumeId, state: 'staging', controllerPublished: false, publishContext: {},
        path: stage ? join(this.#root, 'staging', plugin.name, createHash('sha256').update(volumeId).digest('hex').slice(0, 32)) : '',
      };
      s.state = 'staging';
      this.#store.putStaging(s);
      // A staging this call started whose NodeStageVolume never reached the plugin needs no NodeUnstage.
      let stageReached = known !== undefined;
      try {
        if (attach && !s.controllerPublished) {
          const answer = await this.#call(plugin, deadline, (p) => p.client.controller('ControllerPublishVolume', {
            volume_id: volumeId, node_id: plugin.nodeId(), volume_capability: capability, readonly: false, volume_context: context,
          }));
          s.controllerPublished = true;
          s.publishContext = answer.publish_context ?? {};
          this.#store.putStaging(s);
        }
        if (s.path !== '') {
          await mkdir(s.path, { recursive: true, mode: 0o750 });
          await this.#call(plugin, deadline, (p) => p.client.node('NodeStageVolume', {
            volume_id: volumeId, publish_context: s.publishContext, staging_target_path: s.path, volume_capability: capability, volume_context: context,
          }), () => { stageReached = true; });
        }
        s.state = 'staged';
        this.#store.putStaging(s);
        this.#log.info({ driver: plugin.name, volumeId, staging: s.path }, 'CSI volume staged');
        return s;
      } catch (err) {
        await this.#unstage(s, Date.now() + this.#waitMs, !stageReached).catch((e: unknown) => this.#log.error({ driver: plugin.name, volumeId, err: messageOf(e) }, 'undoing a CSI stage failed; left for the retry loop'));
        throw err;
      }
    });
  }

  /** NodeUnpublish, then the target's parent, the record, and the staging if it was the last user. */
  async #unpublish(rec: Publish, deadline: number): Promise<void> {
    rec.state = 'unpublishing';
    this.#store.putPublish(rec);
    // A NodePublishVolume that never reached the plugin left nothing on its side (the mountinfo
    // check below still holds): no need to wait for a plugin that may not come back.
    if (!publishUnsent.has(rec)) {
      const plugin = await this.#registry.available(rec.driver, deadline);
      try {
        await this.#call(plugin, deadline, (p) => p.client.node('NodeUnpublishVolume', { volume_id: rec.volumeId, target_path: rec.targetPath }));
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
    }
    const parent = join(this.podDir(rec.podUid), rec.volumeName);
    assertNothingMountedUnder(parent, `NodeUnpublishVolume of ${rec.volumeId} by CSI plugin "${rec.driver}" answered success`);
    await rm(parent, { recursive: true, force: true });
    this.#store.deletePublish(rec.podUid, rec.volumeName);
    this.#log.info({ pod: rec.podUid, volume: rec.volumeName, driver: rec.driver }, 'CSI volume unpublished');
    if (!rec.ephemeral) await this.#releaseIfUnused(rec.driver, rec.volumeId, deadline);
  }

  async #releaseIfUnused(driver: string, volumeId: string, deadline: number): Promise<void> {
    await this.#volumeLocks.run(`${driver}/${volumeId}`, async () => {
      const s = this.#store.staging(driver, volumeId);
      if (!s || this.#store.publishes({ driver, volumeId }).length > 0) return;
      await this.#unstage(s, deadline);
    });
  }

  /**
   * NodeUnstage and ControllerUnpublish of a staging; the record goes when both are done.
   * stageUnsent: NodeStageVolume never reached the plugin, so there is nothing to unstage.
   */
  async #unstage(s: Staging, deadline: number, stageUnsent = false): Promise<void> {
    s.state = 'unstaging';
    this.#store.putStaging(s);
    const needsPlugin = (s.path !== '' && !stageUnsent) || s.controllerPublished;
    const plugin = needsPlugin ? await this.#registry.available(s.driver, deadline) : null;
    if (s.path !== '') {
      if (plugin !== null && !stageUnsent) {
        try {
          await this.#call(plugin, deadline, (p) => p.client.node('NodeUnstageVolume', { volume_id: s.volumeId, staging_target_path: s.path }));
        } catch (err) {
          if (!isNotFound(err)) throw err;
        }
      }
      assertNothingMountedUnder(s.path, `NodeUnstageVolume of ${s.volumeId} by CSI plugin "${s.driver}" answered success`);
      await rmdir(s.path).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'ENOENT') throw err;
      });
    }
    if (plugin !== null && s.controllerPublished) {
      try {
        await this.#call(plugin, deadline, (p) => p.client.controller('ControllerUnpublishVolume', { volume_id: s.volumeId, node_id: p.nodeId() }));
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
    }
    this.#store.deleteStaging(s.driver, s.volumeId);
    this.#log.info({ driver: s.driver, volumeId: s.volumeId }, 'CSI volume unstaged');
  }

  async #removePodDir(uid: string): Promise<void> {
    const dir = this.podDir(uid);
    assertNothingMountedUnder(dir, `removing CSI dir of pod ${uid}`);
    await rm(dir, { recursive: true, force: true });
  }

  /**
   * One plugin call (idempotent, as every CSI call). A failure for want of the plugin marks it
   * for a re-probe, and until `deadline` (epoch ms) the call is made again once the plugin is
   * available (restarted, probed healthy). `reached` is told when the call may have reached the
   * plugin.
   */
  async #call<T>(plugin: CsiPlugin, deadline: number, fn: (p: CsiPlugin) => Promise<T>, reached?: () => void): Promise<T> {
    let p = plugin;
    for (let waited = false; ; waited = true) {
      try {
        const answer = await fn(p);
        reached?.();
        return answer;
      } catch (err) {
        if (!(err instanceof CsiCallError && !err.reached)) reached?.();
        this.#registry.noteFailure(p, err);
        if (!(err instanceof CsiCallError && err.retryable) || Date.now() >= deadline) throw err;
        if (!waited) this.#log.warn({ plugin: p.name, err: messageOf(err), waitMs: deadline - Date.now() }, 'CSI plugin unavailable; waiting for it');
        try {
          p = await this.#registry.available(p.name, deadline);
        } catch (gone) {
          throw new KeelsonError('Unavailable', `${err.message}; waited ${Math.round(this.#waitMs / 1000)} s for the plugin: ${messageOf(gone)}`);
        }
      }
    }
  }
}

/** Refuses to go on (and remove dirs) while anything is still mounted at or under a path. */
export function assertNothingMountedUnder(path: string, what: string): void {
  const left = [...mountPoints().keys()].filter((p) => p === path || p.startsWith(`${path}/`));
  if (left.length > 0) throw new KeelsonError('Internal', `${what}, but ${left.join(', ')} is still mounted`);
}
