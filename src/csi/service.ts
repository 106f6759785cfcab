// The daemon's CSI side in one object: the plugin registry, named volumes and pods' node
// volumes, and a loop that retries cleanups a plugin could not do when they were due.
import type { CsiSettings } from '../config/schema.js';
import { messageOf } from '../errors.js';
import type { Logger } from '../logger.js';
import type { Db } from '../store/database.js';
import { NamedVolumes } from './named-volumes.js';
import { NodeVolumes } from './node-volumes.js';
import { PluginRegistry } from './registry.js';
import { CsiStore } from './store.js';

const RETRY_EVERY_MS = 15_000;

export class CsiService {
  readonly registry: PluginRegistry;
  readonly nodeVolumes: NodeVolumes;
  readonly namedVolumes: NamedVolumes;
  readonly #podExists: (uid: string) => boolean;
  readonly #log: Logger;
  #timer: NodeJS.Timeout | null = null;
  #reconciling: Promise<number> | null = null;

  constructor(opts: { db: Db; settings: CsiSettings; root: string; state: string; log: Logger; podExists: (uid: string) => boolean }) {
    const store = new CsiStore(opts.db);
    this.#log = opts.log.child({ module: 'csi' });
    this.#podExists = opts.podExists;
    this.registry = new PluginRegistry({ settings: opts.settings, state: opts.state, log: opts.log });
    // A publish waits for a restarting plugin as long as one call may take.
    this.nodeVolumes = new NodeVolumes({ store, registry: this.registry, root: opts.root, log: opts.log, waitMs: opts.settings.call_timeout_seconds * 1000 });
    this.namedVolumes = new NamedVolumes({ store, registry: this.registry, log: opts.log });
  }

  /**
   * Starts plugins, then finishes or undoes what a previous daemon left half done; both in the
   * background, so the runtime serves at once (calls on a volume wait for its plugin).
   */
  async start(): Promise<void> {
    await this.registry.start();
    void this.reconcile().then((pending) => {
      if (pending > 0) this.#log.warn({ pending }, 'some CSI cleanups wait for their plugin');
    });
    this.#timer = setInterval(() => void this.reconcile(), RETRY_EVERY_MS);
    this.#timer.unref();
  }

  /** One reconcile pass at a time; answers how many records still wait. */
  reconcile(): Promise<number> {
    this.#reconciling ??= this.nodeVolumes.reconcile(this.#podExists)
      .catch((err: unknown) => {
        this.#log.error({ err: messageOf(err) }, 'CSI reconcile failed');
        return -1;
      })
      .finally(() => {
        this.#reconciling = null;
      });
    return this.#reconciling;
  }

  async close(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    await this.#reconciling;
    await this.registry.close();
  }
}
