// The pod orchestrator: a pod is its sandbox and the containers whose record names it (the
// container store's sandbox id is the only link). Everything that changes a pod's set of
// containers or its sandbox runs under that pod's lock, so CreateContainer cannot race a
// StopPodSandbox or RemovePodSandbox, and Stop and Remove reach every container by direct
// calls (as containerd's and CRI-O's sandbox stop and remove do).

import type { PodResources } from '../cgroup/pod-cgroup.js';
import type { ContainerService } from '../container/service.js';
import type { ContainerRequest } from '../container/types.js';
import { NotFoundError } from '../errors.js';
import { KeyedLock } from '../keyed-lock.js';
import { SandboxService } from '../sandbox/service.js';
import type { SandboxSpec } from '../sandbox/spec.js';
import type { SandboxRecord } from '../sandbox/types.js';

export interface PodServiceOptions {
  sandboxes: SandboxService;
  containers: ContainerService;
  /**
   * Runs on RemovePodSandbox once the containers are gone, before the pod's own resources
   * go (the CSI side unpublishes the pod's volumes). A failure fails the removal, leaving the
   * pod stopped, so a retry can finish it.
   */
  beforeRemove?: (record: SandboxRecord) => Promise<void>;
}

/** NotFound means already gone: for a cascade, that is success. */
async function ignoreNotFound(p: Promise<void>): Promise<void> {
  try {
    await p;
  } catch (err) {
    if (!(err instanceof NotFoundError)) throw err;
  }
}

export class PodService {
  readonly #locks = new KeyedLock();

  constructor(readonly opts: PodServiceOptions) {}

  get sandboxes(): SandboxService {
    return this.opts.sandboxes;
  }

  get containers(): ContainerService {
    return this.opts.containers;
  }

  async runPod(spec: SandboxSpec): Promise<SandboxRecord> {
    const id = SandboxService.newId();
    return this.#locks.run(id, () => this.opts.sandboxes.run(spec, id));
  }

  /** CreateContainer in a ready pod, under the pod's lock. */
  async createContainer(sandboxIdOrPrefix: string, request: ContainerRequest): Promise<string> {
    const id = this.opts.sandboxes.resolve(sandboxIdOrPrefix).id;
    return this.#locks.run(id, () => this.opts.containers.create(id, request));
  }

  /** Resizes a ready pod's cgroup, under the pod's lock (so not while it stops). */
  async updatePodResources(idOrPrefix: string, resources: PodResources): Promise<void> {
    const id = this.opts.sandboxes.resolve(idOrPrefix).id;
    await this.#locks.run(id, async () => {
      const record = this.opts.sandboxes.get(id);
      if (!record) throw new NotFoundError(`pod sandbox ${idOrPrefix} not found`);
      await this.opts.sandboxes.updateResources(record, resources);
    });
  }

  /**
   * Stops the pod's containers (SIGKILL: kubelet stopped them gracefully before), then the
   * sandbox. Stopping a stopped pod is fine; an unknown id is NotFound, as containerd answers.
   */
  async stopPod(idOrPrefix: string): Promise<void> {
    const id = this.opts.sandboxes.resolve(idOrPrefix).id;
    await this.#locks.run(id, async () => {
      const record = this.opts.sandboxes.get(id);
      if (record) await this.#stopLocked(record);
    });
  }

  /** Stops if needed, removes the containers (cascade, as containerd does), then the sandbox. Idempotent. */
  async removePod(idOrPrefix: string): Promise<void> {
    const id = this.#resolveOrNull(idOrPrefix);
    if (id === null) return;
    await this.#locks.run(id, async () => {
      const record = this.opts.sandboxes.get(id);
      if (!record) return;
      await this.#stopLocked(record);
      // A container removed meanwhile (the supervisor replacing it) is gone already: fine.
      for (const c of this.opts.containers.idsInSandbox(id)) await ignoreNotFound(this.opts.containers.remove(c));
      await this.opts.beforeRemove?.(record);
      await this.opts.sandboxes.remove(record);
    });
  }

  async #stopLocked(record: SandboxRecord): Promise<void> {
    for (const c of this.opts.containers.idsInSandbox(record.id)) await ignoreNotFound(this.opts.containers.stop(c, 0));
    await this.opts.sandboxes.stop(record);
  }

  #resolveOrNull(idOrPrefix: string): string | null {
    try {
      return this.opts.sandboxes.resolve(idOrPrefix).id;
    } catch (err) {
      if (err instanceof NotFoundError) return null;
      throw err;
    }
  }
}
