// Checkpoints of running containers and pods (KEP-2008, forensic container checkpointing):
// CRIU dumps the processes through `runc checkpoint --leave-running`, and the dump, the spec,
// the container's config and its writable layer go into one tar at the caller's location, in
// the layout CRI-O and Podman write (checkpointctl reads it):
//   checkpoint/ (CRIU images), config.dump, spec.dump, rootfs-diff.tar, deleted.files,
//   dump.log, stats-dump.
// Every request is checked, and CRIU asked whether it can run, before anything is written.
//
// UNTESTED PATH: the dump itself (from pausing the container on) has never run: the
// development machine's CRIU (3.17.1) cannot initialise on its kernel (6.18, "Unexpected rt
// vDSO area bounds"), so every call there stops at the CRIU precondition.

import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join } from 'node:path';
import { FailedPreconditionError, InvalidArgumentError, messageOf } from '../errors.js';
import type { Logger } from '../logger.js';
import type { Criu } from '../runtime/criu.js';
import type { RuntimeRegistry } from '../runtime/registry.js';
import type { RuncCli } from '../runtime/runc.js';
import { shortId } from '../id-index.js';
import { nsToMs } from '../time.js';
import { writeArchive, writeRootfsDiff } from './checkpoint-archive.js';
import type { ContainerService } from './service.js';
import type { ContainerRecord } from './types.js';

/** What the checkpointer needs of the pod sandboxes. */
export interface CheckpointSandboxes {
  /** A sandbox by full id or unique prefix; NotFound otherwise. */
  resolve(idOrPrefix: string): { id: string; metadata: { name: string; namespace: string; uid: string; attempt: number } };
}

export interface CheckpointerOptions {
  /** The daemon's root dir: bundles at <root>/containers/<id>/bundle, writable layers at <root>/container-roots/<id>/upper. */
  root: string;
  containers: ContainerService;
  sandboxes: CheckpointSandboxes;
  runtimes: RuntimeRegistry;
  criu: Criu;
  log: Logger;
}

/** Bound on one container's dump when the request gives no timeout. */
const DEFAULT_TIMEOUT_MS = 10 * 60_000;

/** The entries of a container checkpoint archive, in the order CRI-O writes them. */
const ARCHIVE_ENTRIES = ['stats-dump', 'dump.log', 'checkpoint', 'config.dump', 'spec.dump', 'rootfs-diff.tar', 'deleted.files'];

export class Checkpointer {
  constructor(private readonly opts: CheckpointerOptions) {}

  /** CheckpointContainer: the container keeps running; the archive appears at `location` whole or not at all. */
  async checkpointContainer(idOrPrefix: string, location: string, timeoutMs: number): Promise<void> {
    const record = await this.#running(this.opts.containers.resolveId(idOrPrefix));
    await requireNewPath(location, 'location');
    await this.requireCriu(`cannot checkpoint container ${record.id}`);
    const tmp = join(dirname(location), `.${basename(location)}.keelson-${randomBytes(4).toString('hex')}`);
    try {
      await this.#dump(record, tmp, timeoutMs);
      await rename(tmp, location);
    } catch (err) {
      await rm(tmp, { force: true });
      throw err;
    }
  }

  /**
   * CheckpointPod: `outputPath` becomes a dir with pod.dump (the pod's identity and its
   * containers) and one container archive per checkpointed container, `<name>.tar`. The
   * containers are the ones named, each of which must run, or else every running one.
   */
  async checkpointPod(podIdOrPrefix: string, containerIds: string[], outputPath: string, timeoutMs: number): Promise<void> {
    const pod = this.opts.sandboxes.resolve(podIdOrPrefix);
    const records = await this.#podContainers(pod.id, containerIds);
    await requireNewPath(outputPath, 'output_path');
    await this.requireCriu(`cannot checkpoint pod ${pod.id}`);
    const staging = join(dirname(outputPath), `.${basename(outputPath)}.keelson-${randomBytes(4).toString('hex')}`);
    try {
      await mkdir(staging, { mode: 0o700 });
      const archives = archiveNames(records);
      for (const record of records) await this.#dump(record, join(staging, archives.get(record.id) ?? `${record.id}.tar`), timeoutMs);
      await writeFile(join(staging, 'pod.dump'), JSON.stringify({
        id: pod.id, metadata: pod.metadata, checkpointedTime: new Date().toISOString(),
        containers: records.map((r) => ({ id: r.id, name: r.name, archive: archives.get(r.id) })),
      }, null, 2), { mode: 0o600 });
      await rename(staging, outputPath);
    } catch (err) {
      await rm(staging, { recursive: true, force: true });
      throw err;
    }
  }

  /** FailedPrecondition naming CRIU's own reason when it cannot run on this machine. */
  async requireCriu(what: string): Promise<void> {
    const criu = await this.opts.criu.availability();
    if (!criu.usable) throw new FailedPreconditionError(`${what}: CRIU cannot run on this machine: ${criu.reason}`);
  }

  async #running(id: string): Promise<ContainerRecord> {
    const record = await this.opts.containers.status(id);
    if (record.state !== 'running') throw new FailedPreconditionError(`container ${id} is ${record.state}, not running: only a running container can be checkpointed`);
    return record;
  }

  async #podContainers(podId: string, containerIds: string[]): Promise<ContainerRecord[]> {
    if (containerIds.length === 0) {
      const all = await Promise.all(this.opts.containers.idsInSandbox(podId).map((id) => this.opts.containers.status(id)));
      const running = all.filter((r) => r.state === 'running');
      if (running.length === 0) throw new FailedPreconditionError(`pod ${podId} has no running container to checkpoint`);
      return running;
    }
    const records: ContainerRecord[] = [];
    for (const idOrPrefix of containerIds) {
      const id = this.opts.containers.resolveId(idOrPrefix);
      const record = await this.#running(id);
      if (record.sandboxId !== podId) throw new InvalidArgumentError(`container ${id} is in pod ${record.sandboxId}, not in pod ${podId}`);
      if (!records.some((r) => r.id === id)) records.push(record);
    }
    return records;
  }

  /** One container's archive at `archivePath`, built in a work dir of the container's own. */
  async #dump(record: ContainerRecord, archivePath: string, timeoutMs: number): Promise<void> {
    const containerDir = join(this.opts.root, 'containers', record.id);
    const work = await mkdtemp(join(containerDir, 'checkpoint-'));
    try {
      const specText = await readFile(join(containerDir, 'bundle', 'config.json'), 'utf8');
      await writeFile(join(work, 'spec.dump'), specText, { mode: 0o600 });
      await writeFile(join(work, 'config.dump'), JSON.stringify(configDump(record)), { mode: 0o600 });
      const runc = this.#runc(record.runtimeHandler);
      // Frozen first, as CRI-O does: the files taken after the dump must match the dumped processes.
      await runc.pause(record.id);
      let deleted: string[];
      try {
        await runc.checkpoint(record.id, { imagePath: join(work, 'checkpoint'), workPath: work, leaveRunning: true, timeoutMs: timeoutMs || DEFAULT_TIMEOUT_MS });
        const upper = join(this.opts.root, 'container-roots', record.id, 'upper');
        deleted = await writeRootfsDiff(upper, join(work, 'rootfs-diff.tar'), bindMountDestinations(specText));
      } finally {
        await runc.resume(record.id).catch((err: unknown) => this.opts.log.error({ id: record.id, err: messageOf(err) }, 'resuming a container after its checkpoint failed'));
      }
      await writeFile(join(work, 'deleted.files'), JSON.stringify(deleted), { mode: 0o600 });
      const present: string[] = [];
      for (const name of ARCHIVE_ENTRIES) if (await exists(join(work, name))) present.push(name);
      await writeArchive(work, present, archivePath);
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  }

  #runc(handler: string): RuncCli {
    if (!this.opts.runtimes.has(handler)) throw new FailedPreconditionError(`runtime handler "${handler}" is not configured`);
    return this.opts.runtimes.cli(handler);
  }
}

/** `<name>.tar` per container; two running attempts of one name get their short ids added. */
function archiveNames(records: ContainerRecord[]): Map<string, string> {
  const names = new Map<string, string>();
  for (const r of records) {
    const shared = records.filter((o) => o.name === r.name).length > 1;
    names.set(r.id, shared ? `${r.name}-${shortId(r.id, 12)}.tar` : `${r.name}.tar`);
  }
  return names;
}

/** config.dump as checkpointctl reads it (its ContainerConfig's JSON names). */
function configDump(record: ContainerRecord): Record<string, unknown> {
  return {
    id: record.id,
    name: record.name,
    rootfsImage: record.request.image,
    rootfsImageRef: record.imageId,
    rootfsImageName: record.imageRef,
    runtime: record.runtimeHandler,
    createdTime: new Date(nsToMs(record.createdAt)).toISOString(),
    checkpointedTime: new Date().toISOString(),
    restored: false,
  };
}

/** Destinations of the spec's bind mounts: host files, not the container's changes. */
function bindMountDestinations(specText: string): Set<string> {
  const spec = JSON.parse(specText) as { mounts?: Array<{ destination?: string; type?: string; options?: string[] }> };
  const out = new Set<string>();
  for (const m of spec.mounts ?? []) {
    const bind = m.type === 'bind' || (m.options ?? []).some((o) => o === 'bind' || o === 'rbind');
    if (bind && m.destination) out.add(m.destination.replace(/\/+$/, '') || '/');
  }
  return out;
}

/**
 * A path the call may create: absolute, its parent an existing dir, itself not an existing
 * dir. CRI-O fails opening a dir as the archive; keelson says so before any work. An
 * existing file at a container location is replaced (kubelet names each one by time).
 */
async function requireNewPath(path: string, field: string): Promise<void> {
  if (!isAbsolute(path)) throw new InvalidArgumentError(`${field} "${path}" must be an absolute path`);
  const parent = await stat(dirname(path)).catch(() => null);
  if (!parent?.isDirectory()) throw new InvalidArgumentError(`${field} "${path}": its parent directory ${dirname(path)} does not exist`);
  const existing = await stat(path).catch(() => null);
  if (existing?.isDirectory()) throw new InvalidArgumentError(`${field} "${path}" is an existing directory; it must name a new archive`);
  if (existing && field === 'output_path') throw new InvalidArgumentError(`${field} "${path}" already exists`);
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(() => true, () => false);
}
