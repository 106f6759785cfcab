// The read side of the container service: status, list with filters, stats.

import { hostCgroupMounts } from '../cgroup/hierarchy.js';
import { readCgroupStats, type CgroupStats } from '../cgroup/stats.js';
import { NotFoundError } from '../errors.js';
import { findById } from '../id-index.js';
import { compareNs, nowNs } from '../time.js';
import type { ImageProvider } from './dependencies.js';
import type { ContainerStore } from './store.js';
import type { ContainerRecord, ContainerState } from './types.js';

export interface ContainerFilter {
  /** An id or a unique-enough prefix of one. */
  id?: string | undefined;
  state?: ContainerState | undefined;
  sandboxId?: string | undefined;
  labelSelector?: Record<string, string> | undefined;
}

export interface ContainerStats {
  id: string;
  record: ContainerRecord;
  timestampNs: string;
  cpuUsageNs: bigint;
  memoryWorkingSetBytes: bigint;
  /** The container cgroup's counters while it runs; null once it stopped. */
  cgroup: CgroupStats | null;
  /** CPU use since this container's previous sample, in nanocores; null on the first one. */
  usageNanoCores: bigint | null;
  writableLayerBytes: number;
  writableLayerInodes: number;
}

export abstract class ContainerQueries {
  /** The last cpu sample per container, for usage_nano_cores (a rate needs two). */
  readonly #cpuSamples = new Map<string, { cpuUsageNs: bigint; timestampNs: bigint }>();

  constructor(
    protected readonly store: ContainerStore,
    private readonly imageProvider: ImageProvider,
  ) {}

  protected abstract refresh(record: ContainerRecord): Promise<ContainerRecord>;

  /** The record by full id or unique prefix, brought up to date. */
  protected async refreshed(idOrPrefix: string): Promise<ContainerRecord> {
    return this.refresh(this.lookup(idOrPrefix));
  }

  protected lookup(idOrPrefix: string): ContainerRecord {
    if (idOrPrefix === '') throw new NotFoundError('container id is empty');
    return this.store.get(idOrPrefix) ?? findById(this.store.list(), idOrPrefix, 'container');
  }

  async status(id: string): Promise<ContainerRecord> {
    return this.refreshed(id);
  }

  /** Full id of a container by id or prefix (NotFound otherwise). */
  resolveId(idOrPrefix: string): string {
    return this.lookup(idOrPrefix).id;
  }

  async list(filter: ContainerFilter = {}): Promise<ContainerRecord[]> {
    const out: ContainerRecord[] = [];
    for (const candidate of this.store.list()) {
      if (filter.id && !candidate.id.startsWith(filter.id)) continue;
      if (filter.sandboxId && !candidate.sandboxId.startsWith(filter.sandboxId)) continue;
      if (filter.labelSelector && !Object.entries(filter.labelSelector).every(([k, v]) => candidate.labels[k] === v)) continue;
      const record = await this.refresh(candidate);
      if (filter.state && record.state !== filter.state) continue;
      out.push(record);
    }
    return out.sort((a, b) => compareNs(a.createdAt, b.createdAt));
  }

  async stats(id: string): Promise<ContainerStats> {
    const record = await this.refreshed(id);
    const [cg, usage] = await Promise.all([
      record.state === 'running' ? readCgroupStats(hostCgroupMounts(), record.cgroupsPath) : Promise.resolve(null),
      this.imageProvider.rootfsUsage(record.id).catch(() => ({ bytes: 0, inodes: 0 })),
    ]);
    const timestampNs = nowNs();
    let usageNanoCores: bigint | null = null;
    if (cg?.exists) {
      const previous = this.#cpuSamples.get(record.id);
      const elapsed = previous ? BigInt(timestampNs) - previous.timestampNs : 0n;
      if (previous && elapsed > 0n && cg.cpuUsageNs >= previous.cpuUsageNs) {
        usageNanoCores = ((cg.cpuUsageNs - previous.cpuUsageNs) * 1_000_000_000n) / elapsed;
      }
      this.#cpuSamples.set(record.id, { cpuUsageNs: cg.cpuUsageNs, timestampNs: BigInt(timestampNs) });
    } else {
      this.#cpuSamples.delete(record.id);
    }
    return {
      id: record.id, record, timestampNs,
      cpuUsageNs: cg?.cpuUsageNs ?? 0n, memoryWorkingSetBytes: cg?.workingSetBytes ?? 0n,
      cgroup: cg?.exists ? cg : null, usageNanoCores,
      writableLayerBytes: usage.bytes, writableLayerInodes: usage.inodes,
    };
  }

  async listStats(filter: ContainerFilter = {}): Promise<ContainerStats[]> {
    const records = await this.list(filter);
    return Promise.all(records.map((r) => this.stats(r.id)));
  }
}
