// Named volumes (`keelson volume create/ls/rm`): provisioned by the plugin's controller
// (CreateVolume/DeleteVolume), kept in SQLite, used by pods through
// `persistentVolumeClaim.claimName`, and measured with NodeGetVolumeStats where mounted.
import { AlreadyExistsError, FailedPreconditionError, InvalidArgumentError, NotFoundError, messageOf } from '../errors.js';
import type { Logger } from '../logger.js';
import type { PluginRegistry } from './registry.js';
import { mountCapability, nodeExpand } from './volume-calls.js';
import type { CsiStore, NamedVolume } from './store.js';

const NAME = /^[a-z0-9]([-a-z0-9.]{0,61}[a-z0-9])?$/;

export interface VolumeUsage {
  usedBytes: number;
  totalBytes: number;
  availableBytes: number;
  usedInodes: number | null;
  /** Which path the plugin measured. */
  path: string;
  /** The plugin's word on the volume's health (VOLUME_CONDITION), null when it gives none. */
  condition: { abnormal: boolean; message: string } | null;
}

export interface VolumeView extends NamedVolume {
  /** Pods that have it published, as namespace/name. */
  pods: string[];
  staged: boolean;
  usage: VolumeUsage | null;
  /** Why there is no usage: not mounted anywhere, no GET_VOLUME_STATS, or the plugin's error. */
  usageNote: string;
}

export class NamedVolumes {
  readonly #store: CsiStore;
  readonly #registry: PluginRegistry;
  readonly #log: Logger;

  constructor(opts: { store: CsiStore; registry: PluginRegistry; log: Logger }) {
    this.#store = opts.store;
    this.#registry = opts.registry;
    this.#log = opts.log.child({ module: 'csi' });
  }

  /** CreateVolume through the plugin's controller. Idempotent for the same driver and size. */
  async create(name: string, driver: string, sizeBytes: number, parameters: Record<string, string> = {}): Promise<NamedVolume> {
    if (!NAME.test(name)) throw new InvalidArgumentError(`volume name "${name}" must be 1-63 lower case letters, digits, '-' or '.', starting and ending with a letter or digit`);
    if (!Number.isSafeInteger(sizeBytes) || sizeBytes < 0) throw new InvalidArgumentError(`volume size ${sizeBytes} must be a whole number of bytes`);
    const existing = this.#store.volume(name);
    if (existing) {
      if (existing.driver === driver && (sizeBytes === 0 || existing.capacityBytes >= sizeBytes)) return existing;
      throw new AlreadyExistsError(`volume "${name}" already exists (driver ${existing.driver}, ${existing.capacityBytes} bytes)`);
    }
    const plugin = await this.#registry.get(driver);
    if (!plugin.hasController('CREATE_DELETE_VOLUME')) {
      throw new FailedPreconditionError(`CSI plugin "${driver}" does not offer CREATE_DELETE_VOLUME (controller capabilities: ${plugin.info?.controllerCapabilities.join(', ') || 'none'}); keelson cannot provision volumes with it`);
    }
    const answer = await plugin.client.controller('CreateVolume', {
      // The CSI name is the idempotency key: a retry after a crash gets the same volume back.
      name: `keelson-${name}`,
      capacity_range: sizeBytes > 0 ? { required_bytes: String(sizeBytes), limit_bytes: '0' } : null,
      volume_capabilities: [mountCapability('')],
      parameters,
    });
    const v = answer.volume;
    if (!v?.volume_id) throw new FailedPreconditionError(`CSI plugin "${driver}" CreateVolume for ${name} answered no volume_id`);
    const capacity = Number(v.capacity_bytes ?? '0');
    const vol: NamedVolume = {
      name, driver, volumeId: v.volume_id, capacityBytes: capacity > 0 ? capacity : sizeBytes, context: v.volume_context ?? {}, createdAt: Date.now(),
      nodeExpansionPending: false,
    };
    this.#store.putVolume(vol);
    this.#log.info({ name, driver, volumeId: vol.volumeId, capacity: vol.capacityBytes }, 'volume created');
    return vol;
  }

  /** DeleteVolume; refused while a pod uses the volume. */
  async remove(name: string): Promise<void> {
    const vol = this.#store.volume(name);
    if (!vol) throw new NotFoundError(`volume "${name}" does not exist`);
    const users = this.#store.publishes({ namedVolume: name });
    if (users.length > 0) {
      throw new FailedPreconditionError(`volume "${name}" is in use by pod${users.length > 1 ? 's' : ''} ${[...new Set(users.map((p) => `${p.podNamespace}/${p.podName}`))].join(', ')}`);
    }
    if (this.#store.staging(vol.driver, vol.volumeId)) {
      throw new FailedPreconditionError(`volume "${name}" is still staged on this node (an earlier unstage failed and is being retried)`);
    }
    const plugin = await this.#registry.get(vol.driver);
    if (plugin.hasController('CREATE_DELETE_VOLUME')) {
      await plugin.client.controller('DeleteVolume', { volume_id: vol.volumeId });
    }
    this.#store.deleteVolume(name);
    this.#log.info({ name, driver: vol.driver, volumeId: vol.volumeId }, 'volume removed');
  }

  /**
   * Grows a volume: ControllerExpandVolume where the controller offers EXPAND_VOLUME, then
   * NodeExpandVolume on this node where the volume is mounted and the node offers it.
   */
  async expand(name: string, sizeBytes: number): Promise<NamedVolume> {
    const vol = this.#store.volume(name);
    if (!vol) throw new NotFoundError(`volume "${name}" does not exist`);
    if (!Number.isSafeInteger(sizeBytes) || sizeBytes <= vol.capacityBytes) {
      throw new InvalidArgumentError(`new size ${sizeBytes} of volume "${name}" must be larger than its ${vol.capacityBytes} bytes`);
    }
    const plugin = await this.#registry.get(vol.driver);
    const canController = plugin.hasController('EXPAND_VOLUME');
    const canNode = plugin.hasNode('EXPAND_VOLUME');
    if (!canController && !canNode) throw new FailedPreconditionError(`CSI plugin "${vol.driver}" cannot expand volumes (no EXPAND_VOLUME capability)`);
    let capacity = sizeBytes;
    let nodeNeeded = canNode;
    if (canController) {
      const answer = await plugin.client.controller('ControllerExpandVolume', {
        volume_id: vol.volumeId, capacity_range: { required_bytes: String(sizeBytes), limit_bytes: '0' }, volume_capability: mountCapability(''),
      });
      capacity = Number(answer.capacity_bytes ?? sizeBytes) || sizeBytes;
      nodeNeeded = canNode && answer.node_expansion_required === true;
    }
    const mounted = this.#store.publishes({ namedVolume: name }).find((p) => p.state === 'published');
    if (nodeNeeded && mounted) {
      capacity = await nodeExpand(plugin, vol.volumeId, mounted.targetPath, mounted.stagingPath, sizeBytes) ?? capacity;
    }
    const grown = { ...vol, capacityBytes: capacity, nodeExpansionPending: nodeNeeded && !mounted };
    this.#store.putVolume(grown);
    return grown;
  }

  /** Every named volume, with its pods and usage from NodeGetVolumeStats where it is mounted. */
  async list(): Promise<VolumeView[]> {
    // One NodeGetVolumeStats per mounted volume, all at once: a slow plugin costs one timeout, not one per volume.
    return Promise.all(this.#store.volumes().map(async (vol): Promise<VolumeView> => {
      const pubs = this.#store.publishes({ namedVolume: vol.name });
      const first = pubs.find((p) => p.state === 'published');
      const view: VolumeView = {
        ...vol,
        pods: [...new Set(pubs.map((p) => `${p.podNamespace}/${p.podName}`))],
        staged: this.#store.staging(vol.driver, vol.volumeId)?.state === 'staged',
        usage: null,
        usageNote: first ? '' : 'not mounted',
      };
      if (first) {
        try {
          view.usage = await this.#stats(vol.driver, vol.volumeId, first.targetPath, first.stagingPath);
          if (!view.usage) view.usageNote = 'plugin has no GET_VOLUME_STATS';
        } catch (err) {
          view.usageNote = messageOf(err);
        }
      }
      return view;
    }));
  }

  async #stats(driver: string, volumeId: string, path: string, stagingPath: string): Promise<VolumeUsage | null> {
    const plugin = await this.#registry.get(driver);
    if (!plugin.hasNode('GET_VOLUME_STATS')) return null;
    const answer = await plugin.client.node('NodeGetVolumeStats', { volume_id: volumeId, volume_path: path, staging_target_path: stagingPath }, { retries: 0, timeoutMs: 10_000 });
    const bytes = answer.usage?.find((u) => u.unit === 'BYTES');
    const inodes = answer.usage?.find((u) => u.unit === 'INODES');
    if (!bytes) return null;
    return {
      usedBytes: Number(bytes.used ?? 0), totalBytes: Number(bytes.total ?? 0), availableBytes: Number(bytes.available ?? 0),
      usedInodes: inodes ? Number(inodes.used ?? 0) : null, path,
      condition: plugin.hasNode('VOLUME_CONDITION') && answer.volume_condition
        ? { abnormal: answer.volume_condition.abnormal === true, message: answer.volume_condition.message ?? '' } : null,
    };
  }
}
