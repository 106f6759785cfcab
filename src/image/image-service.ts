// The image service: pull (registry -> content store -> snapshots -> image store),
// resolve by name/digest/id, list, remove, usage, and the garbage collection that keeps
// disk and database in step. Knows nothing of gRPC.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { KeelsonError, messageOf } from '../errors.js';
import type { Logger } from '../logger.js';
import type { Db } from '../store/database.js';
import { ContentStore } from './content-store.js';
import { ImageStore, type ImageRecord } from './image-store.js';
import { matchIds } from '../id-index.js';
import { KeyedLock } from '../keyed-lock.js';
import { Semaphore } from './limits.js';
import {
  layerCompression, MAX_INDEX_DEPTH, nodePlatform, parseImageConfig, parseManifest, selectPlatform,
  type Descriptor, type ImageConfig, type ImageManifest, type Platform,
} from './manifest.js';
import { ProgressWriter } from './progress.js';
import { formatReference, isDigest, parseReference, repoName, type ImageReference } from './reference.js';
import { credentialsFromAuthConfig, type AuthConfigLike } from './registry/auth.js';
import { TransportError } from './registry/http.js';
import { RegistryClient, type RegistryClientOptions } from './registry/registry-client.js';
import type { ImageSource } from './image-source.js';
import { Snapshotter, treeUsage } from './snapshotter.js';
import { PullBudget } from './unpack/budget.js';
import { emptyDir, LowerView, settleImplicitDirs } from './unpack/lower-view.js';
import { DigestMismatchError, unpackLayer, type LayerLimits } from './unpack/unpack.js';

export interface ImageServiceOptions {
  root: string;
  db: Db;
  registry: RegistryClientOptions;
  limits: LayerLimits;
  /** Layers downloaded and unpacked at once per daemon. */
  unpackConcurrency: number;
  /** Partial downloads older than this are dropped at start; younger ones resume. */
  ingestMaxAgeMs: number;
  /** Where pull progress files go (for the CLI); none when undefined. */
  progressDir?: string;
  platform?: Platform;
  log: Logger;
}

/** sha256 chain ids: chain(0) = diff(0); chain(n) = sha256(chain(n-1) + " " + diff(n)). */
export function chainIds(diffIds: readonly string[]): string[] {
  const out: string[] = [];
  for (const diff of diffIds) {
    const prev = out[out.length - 1];
    out.push(prev === undefined ? diff : `sha256:${createHash('sha256').update(`${prev} ${diff}`).digest('hex')}`);
  }
  return out;
}

export class ImageService {
  readonly store: ImageStore;
  readonly content: ContentStore;
  readonly snapshots: Snapshotter;
  readonly registry: RegistryClient;
  readonly #unpackSlots: Semaphore;
  readonly #blobLocks = new KeyedLock();
  /** Chain ids and blobs that pulls in progress hold, so GC leaves them alone. */
  readonly #pinned = new Map<string, number>();
  #gcTail: Promise<unknown> = Promise.resolve();
  /** Config blobs being fetched, so concurrent pulls fetch each once. */
  readonly #jsonFetches = new Map<string, Promise<Buffer>>();

  constructor(readonly opts: ImageServiceOptions) {
    this.store = new ImageStore(opts.db);
    this.content = new ContentStore(opts.root);
    this.snapshots = new Snapshotter(opts.root, this.store, opts.log);
    this.registry = new RegistryClient(opts.registry);
    this.#unpackSlots = new Semaphore(Math.max(1, opts.unpackConcurrency));
  }

  /** Creates dirs and reconciles the database with the disk (after a crash, say). */
  async init(): Promise<void> {
    await this.content.init();
    await this.snapshots.init();
    const temps = await this.snapshots.removeTempDirs();
    const ingests = await this.content.cleanIngest(this.opts.ingestMaxAgeMs);
    const onDisk = new Set(await this.snapshots.layerDirsOnDisk());
    const recorded = new Set<string>();
    for (const s of this.store.snapshots()) {
      const hex = s.chainId.replace(/^sha256:/, '');
      recorded.add(hex);
      if (!onDisk.has(hex)) this.store.deleteSnapshot(s.chainId);
    }
    const strays = [...onDisk].filter((hex) => !recorded.has(hex));
    for (const hex of strays) await this.snapshots.removeLayer(`sha256:${hex}`);
    // Layers and blobs an interrupted pull finished stay (as its partial downloads do) so the
    // next pull resumes; the next GC pass outside a pull removes them if nothing claims them.
    const collected = await this.gc({ keepNewerThanMs: this.opts.ingestMaxAgeMs });
    if (temps.length + ingests.length + strays.length + collected.blobs + collected.snapshots > 0) {
      this.opts.log.info({ temps: temps.length, ingests: ingests.length, strays: strays.length, ...collected }, 'image store reconciled with disk');
    }
  }

  /** An image by tag, digest (repo@sha256:...), id (sha256:...) or unique id prefix. */
  resolve(ref: string): ImageRecord | null {
    const input = ref.trim();
    if (input === '') return null;
    if (isDigest(input)) return this.store.get(input);
    let parsed: ImageReference | undefined;
    try {
      parsed = parseReference(input);
    } catch {
      parsed = undefined;
    }
    if (parsed) {
      const byName = parsed.digest !== undefined
        ? this.store.byName(`${repoName(parsed)}@${parsed.digest}`) ?? this.#byManifestDigest(parsed)
        : this.store.byName(formatReference(parsed));
      if (byName) return byName;
    }
    // An id prefix: at least 3 hex digits, so a short tag-like word never names an image by id.
    const prefix = /^(?:sha256:)?([a-f0-9]{3,64})$/.exec(input)?.[1];
    if (prefix) {
      const matches = matchIds(this.store.idsWithPrefix(prefix).map((id) => ({ id })), prefix);
      if (matches.length === 1) return this.store.get((matches[0] as { id: string }).id);
      // Several matches read as "not here", not as an error: every short hex prefix is also a
      // valid image name ("cafe"), and kubelet's ImageStatus before a pull must not fail on it.
    }
    return null;
  }

  #byManifestDigest(ref: ImageReference): ImageRecord | null {
    const repo = repoName(ref);
    return this.store.list().find((i) => i.manifestDigest === ref.digest && [...i.repoTags, ...i.repoDigests].some((n) => n.startsWith(repo))) ?? null;
  }

  list(): ImageRecord[] {
    return this.store.list();
  }

  /** Pulls an image; returns its record (id = sha256 of the config). */
  async pull(image: string, auth?: AuthConfigLike | null): Promise<ImageRecord> {
    const ref = parseReference(image);
    const session = this.registry.session(ref, credentialsFromAuthConfig(auth));
    const progress = new ProgressWriter(this.opts.progressDir, image);
    const pins: string[] = [];
    try {
      const record = await this.#pullFrom(session, ref.digest ?? ref.tag ?? 'latest', formatReference(ref), (top) => [
        `${repoName(ref)}@${top}`, ...(ref.tag !== undefined ? [`${repoName(ref)}:${ref.tag}`] : []),
      ], progress, pins);
      progress.end();
      return record;
    } catch (err) {
      progress.end(messageOf(err));
      throw err;
    } finally {
      this.#unpin(pins);
      // A failed pull leaves nothing unreferenced behind.
      await this.gc().catch((err: unknown) => this.opts.log.warn({ err: messageOf(err) }, 'gc after pull failed'));
    }
  }

  #pin(keys: string[], into: string[]): void {
    for (const k of keys) {
      this.#pinned.set(k, (this.#pinned.get(k) ?? 0) + 1);
      into.push(k);
    }
  }

  #unpin(keys: string[]): void {
    for (const k of keys) {
      const n = (this.#pinned.get(k) ?? 1) - 1;
      if (n <= 0) this.#pinned.delete(k);
      else this.#pinned.set(k, n);
    }
  }

  /** Pulls (or imports) the image `topRef` names in `session`; `namesFor(top digest)` gives its names. */
  async #pullFrom(session: ImageSource, topRef: string, what: string, namesFor: (topDigest: string) => string[],
    progress: ProgressWriter, pins: string[]): Promise<ImageRecord> {
    const top = await session.fetchManifest(topRef);
    const parsedTop = parseManifest(top.data, top.mediaType, `manifest of ${what}`);
    const blobs: Array<{ digest: string; data: Buffer }> = [{ digest: top.digest, data: top.data }];
    let manifest: ImageManifest;
    let manifestDigest = top.digest;
    if (parsedTop.kind === 'index') {
      // Follow indexes (an index may name another index) down to this node's image.
      let index = parsedTop.index;
      let where = `index of ${what}`;
      for (let depth = 1; ; depth++) {
        const child = selectPlatform(index, this.opts.platform ?? nodePlatform(), where);
        const fetched = await session.fetchManifest(child.digest);
        if (fetched.data.length !== child.size) {
          throw new DigestMismatchError(`manifest ${child.digest} of ${what} is ${fetched.data.length} bytes, the index says ${child.size}`);
        }
        const parsedChild = parseManifest(fetched.data, fetched.mediaType, `manifest ${child.digest} of ${what}`);
        blobs.push({ digest: fetched.digest, data: fetched.data });
        if (parsedChild.kind === 'image') {
          manifest = parsedChild.manifest;
          manifestDigest = fetched.digest;
          break;
        }
        if (depth >= MAX_INDEX_DEPTH) {
          throw new KeelsonError('FailedPrecondition', `${what}: indexes nest deeper than ${MAX_INDEX_DEPTH} levels (at ${child.digest})`);
        }
        index = parsedChild.index;
        where = `index ${child.digest} of ${what}`;
      }
    } else {
      manifest = parsedTop.manifest;
    }
    const configDesc = manifest.config;
    const configData = await this.#configBlob(session, configDesc);
    const config = parseImageConfig(configData, `config ${configDesc.digest} of ${what}`);
    blobs.push({ digest: configDesc.digest, data: configData });
    const diffIds = config.rootfs.diff_ids;
    if (diffIds.length !== manifest.layers.length) {
      throw new KeelsonError('FailedPrecondition', `${what}: manifest has ${manifest.layers.length} layers but the config lists ${diffIds.length} diff ids`);
    }
    for (const layer of manifest.layers) layerCompression(layer, what);
    const chains = chainIds(diffIds);
    const layerDigests = manifest.layers.map((l) => l.digest);
    this.#pin([...chains, ...layerDigests, ...blobs.map((b) => b.digest)], pins);

    // Layers download and unpack in parallel; each may look at the ones below once they are
    // on disk (lower-view.ts). layersDone[i] settles once layers 0..i are all on disk: a layer
    // that had no implicit dirs never waited for its own lowers, so "the one below is done"
    // alone would not mean the base is.
    const layersDone: Array<Promise<void>> = [];
    const budget = new PullBudget(this.opts.limits.maxPullBytes ?? Number.MAX_SAFE_INTEGER);
    manifest.layers.forEach((layer, i) => {
      const lowerDone = layersDone[i - 1] ?? Promise.resolve();
      const below = { chains: chains.slice(0, i), ready: lowerDone };
      const own = this.#ensureLayer(session, layer, diffIds[i] as string, chains[i] as string, below, budget, progress, what);
      layersDone.push(own.then(() => lowerDone));
    });
    // On a failure, wait for the other layers to settle before answering (as containerd's
    // errgroup does): one still unpacking would otherwise commit its snapshot after the
    // pull's cleanup and stay, unreferenced, until some later GC.
    let failure: { err: unknown } | undefined;
    await Promise.all(layersDone.map((done) => done.catch((err: unknown) => { failure ??= { err }; })));
    if (failure) throw failure.err;

    for (const b of blobs) await this.content.putVerified(b.digest, b.data);
    const id = configDesc.digest;
    const names = namesFor(top.digest);
    const size = configDesc.size + manifest.layers.reduce((sum, l) => sum + l.size, 0);
    this.store.put({ id, manifestDigest, config, chainIds: chains, blobs: [...blobs.map((b) => b.digest), ...layerDigests], size, names });
    const record = this.store.get(id);
    if (!record) throw new KeelsonError('Internal', `image ${id} vanished right after it was recorded`);
    this.opts.log.info({ image: what, id, layers: chains.length }, 'image pulled');
    return record;
  }

  #configBlob(session: ImageSource, desc: Descriptor): Promise<Buffer> {
    if (this.content.has(desc.digest)) return readFile(this.content.blobPath(desc.digest));
    const running = this.#jsonFetches.get(desc.digest);
    if (running) return running;
    const fetch = session.fetchJsonBlob(desc.digest, desc.size).finally(() => this.#jsonFetches.delete(desc.digest));
    this.#jsonFetches.set(desc.digest, fetch);
    return fetch;
  }

  async #ensureLayer(session: ImageSource, layer: Descriptor, diffId: string, chainId: string,
    below: { chains: string[]; ready: Promise<void> }, budget: PullBudget, progress: ProgressWriter, what: string): Promise<void> {
    const parent = below.chains[below.chains.length - 1] ?? null;
    const p = progress.layer(layer.digest, layer.size);
    const layerWhat = `layer ${layer.digest} of ${what}`;
    if (this.snapshots.has(chainId) && this.content.has(layer.digest)) {
      p.state = 'exists';
      p.done = layer.size;
      progress.touch();
      return;
    }
    await this.#unpackSlots.run(() => this.#blobLocks.run(layer.digest, async () => {
      if (this.snapshots.has(chainId) && this.content.has(layer.digest)) {
        p.state = 'exists';
        p.done = layer.size;
        return;
      }
      p.state = 'downloading';
      progress.touch();
      const compression = layerCompression(layer, what);
      let fromNetwork = false;
      const unpackOnce = async (fsDir: string): Promise<{ bytes: number; inodes: number }> => {
        fromNetwork = !this.content.has(layer.digest);
        const source = this.content.blobSource(layer.digest, layer.size, (offset) => session.openBlob(layer.digest, offset), {
          retries: this.opts.registry.retries, what: layerWhat,
        });
        try {
          const request = {
            compression, dir: fsDir, digest: layer.digest, size: layer.size, diffId, limits: this.opts.limits, what: layerWhat, budget,
          };
          let r = await unpackLayer({ ...request, source, onBytes: (n) => { p.done = n; progress.touch(); } });
          if (fromNetwork) await this.content.commit(layer.digest);
          if (r.implicitDirs.length > 0 && below.chains.length > 0) {
            // Waiting here (for every layer below), inside an unpack slot, cannot deadlock:
            // slots are granted in layer order, so each lower layer holds one or is ahead in
            // the queue, and a lower layer never waits for a higher one.
            await below.ready;
            const lower = new LowerView(below.chains.map((c) => this.snapshots.layerFs(c)).reverse());
            if (settleImplicitDirs(fsDir, r, lower) === 'unpack-again') {
              this.opts.log.info({ layer: layer.digest }, 'layer writes under a symlink of the layers below: unpacking it again through that symlink');
              await emptyDir(fsDir);
              budget.used -= r.bytes; // written again below
              // The blob is in the content store now: read it from there.
              r = await unpackLayer({ ...request, source: createReadStream(this.content.blobPath(layer.digest)), lower });
            }
          }
          return { bytes: r.bytes, inodes: r.entries };
        } catch (err) {
          const broken = err instanceof TransportError || (err instanceof KeelsonError && err.kind === 'Unavailable');
          if (fromNetwork && !broken) {
            // Corrupt data (a zlib or tar error) is most often altered bytes: finish reading the
            // blob into its ingest file and check its digest, so the error says which it was.
            const verdict = err instanceof KeelsonError ? undefined : await this.#verifyAfterFailure(layer, session, layerWhat);
            await this.content.discard(layer.digest);
            if (verdict) throw verdict;
            if (!(err instanceof KeelsonError)) {
              throw new KeelsonError('FailedPrecondition', `${layerWhat}: cannot unpack: ${messageOf(err)}`, { cause: err });
            }
          }
          throw err;
        }
      };
      try {
        if (this.snapshots.has(chainId)) {
          // The layer is unpacked but its blob is gone: fetch and verify the blob only.
          await this.#fetchBlobOnly(layer, session, layerWhat, (n) => { p.done = n; progress.touch(); });
        } else {
          await this.snapshots.ensureLayer(chainId, diffId, parent, unpackOnce);
        }
        p.state = 'done';
        p.done = layer.size;
        progress.touch();
      } catch (err) {
        p.state = 'failed';
        progress.touch();
        throw err;
      }
    }));
  }

  /** A DigestMismatchError when the blob's bytes are wrong, undefined when they verify or cannot be read. */
  async #verifyAfterFailure(layer: Descriptor, session: ImageSource, what: string): Promise<DigestMismatchError | undefined> {
    try {
      const source = this.content.blobSource(layer.digest, layer.size, (offset) => session.openBlob(layer.digest, offset), { retries: 1, what });
      const hash = createHash('sha256');
      let n = 0;
      for await (const chunk of source as AsyncIterable<Buffer>) {
        hash.update(chunk);
        n += chunk.length;
      }
      const digest = `sha256:${hash.digest('hex')}`;
      if (digest === layer.digest && n === layer.size) return undefined;
      return new DigestMismatchError(`${what}: digest mismatch: expected ${layer.digest} (${layer.size} bytes), got ${digest} (${n} bytes)`);
    } catch (err) {
      return err instanceof DigestMismatchError ? err : undefined;
    }
  }

  async #fetchBlobOnly(layer: Descriptor, session: ImageSource, what: string, onBytes: (n: number) => void): Promise<void> {
    const source = this.content.blobSource(layer.digest, layer.size, (offset) => session.openBlob(layer.digest, offset), { retries: this.opts.registry.retries, what });
    const hash = createHash('sha256');
    let n = 0;
    for await (const chunk of source as AsyncIterable<Buffer>) {
      hash.update(chunk);
      n += chunk.length;
      onBytes(n);
    }
    const digest = `sha256:${hash.digest('hex')}`;
    if (digest !== layer.digest || n !== layer.size) {
      await this.content.discard(layer.digest);
      throw new DigestMismatchError(`${what}: digest mismatch: expected ${layer.digest} (${layer.size} bytes), got ${digest} (${n} bytes)`);
    }
    await this.content.commit(layer.digest);
  }

  /**
   * Imports one image from a local source (an unpacked OCI layout or docker archive): the same
   * verified path as a pull, with `names` given by the archive.
   */
  async importFrom(source: ImageSource, topDigest: string, names: string[], what: string): Promise<ImageRecord> {
    const progress = new ProgressWriter(undefined, what);
    const pins: string[] = [];
    try {
      return await this.#pullFrom(source, topDigest, what, () => names, progress, pins);
    } finally {
      this.#unpin(pins);
      await this.gc().catch((err: unknown) => this.opts.log.warn({ err: messageOf(err) }, 'gc after import failed'));
    }
  }

  /**
   * A container's root filesystem: an overlay of the image's layers with its own upper and
   * work dirs, mounted at <root>/container-roots/<id>/rootfs. The container holds a lease on
   * the layers, so they outlive a RemoveImage of its image until removeContainerRootfs.
   */
  prepareContainerRootfs(containerId: string, imageId: string): Promise<{ rootfs: string }> {
    return this.snapshots.prepareContainerRootfs(containerId, imageId);
  }

  /** Unmounts and removes a container's rootfs, drops its lease and collects layers no one needs. Idempotent. */
  async removeContainerRootfs(containerId: string): Promise<void> {
    await this.snapshots.removeContainerRootfs(containerId);
    await this.gc();
  }

  /** Bytes and inodes the container wrote (its upper dir). */
  /** An image volume of a container: the image's layers as a read-only overlay, leased. */
  mountImageVolume(containerId: string, index: number, imageId: string): Promise<string> {
    return this.snapshots.mountImageVolume(containerId, index, imageId);
  }

  containerUsage(containerId: string): Promise<{ bytes: number; inodes: number }> {
    return this.snapshots.usage(containerId);
  }

  /** Removes an image by name, digest or id; its blobs and layers go unless still needed. Missing is fine. */
  async remove(ref: string): Promise<boolean> {
    const image = this.resolve(ref);
    if (!image) return false;
    this.store.delete(image.id);
    await this.gc();
    return true;
  }

  /** Removes snapshots and blobs that no image, lease or pull in progress needs. Serialised. */
  gc(opts: { keepNewerThanMs?: number } = {}): Promise<{ snapshots: number; blobs: number }> {
    const run = this.#gcTail.catch(() => undefined).then(() => this.#gc(opts.keepNewerThanMs ?? 0));
    this.#gcTail = run;
    return run;
  }

  async #gc(keepNewerThanMs: number): Promise<{ snapshots: number; blobs: number }> {
    const usedChains = this.store.referencedChainIds();
    const usedBlobs = this.store.referencedBlobs();
    const cutoff = Date.now() - keepNewerThanMs;
    let snapshots = 0;
    let blobs = 0;
    for (const s of this.store.snapshots()) {
      if (usedChains.has(s.chainId) || this.#pinned.has(s.chainId)) continue;
      if (keepNewerThanMs > 0 && (s.createdAt ?? 0) > cutoff) continue;
      await this.snapshots.removeLayer(s.chainId);
      snapshots++;
    }
    for (const digest of await this.content.list()) {
      if (usedBlobs.has(digest) || this.#pinned.has(digest)) continue;
      if (keepNewerThanMs > 0 && ((await this.content.storedAt(digest)) ?? 0) > cutoff) continue;
      await this.content.remove(digest);
      blobs++;
    }
    return { snapshots, blobs };
  }

  /** The image filesystem: bytes and inodes of blobs and layers, and where they live. */
  async fsUsage(): Promise<{ mountpoint: string; bytes: number; inodes: number }> {
    const content = await this.content.usage();
    let bytes = content.bytes;
    let inodes = content.inodes;
    for (const s of this.store.snapshots()) {
      bytes += s.bytes;
      inodes += s.inodes;
    }
    return { mountpoint: join(this.opts.root, 'snapshots'), bytes, inodes };
  }

  /** Where containers' writable layers live and what they hold. */
  async containerFsUsage(): Promise<{ mountpoint: string; bytes: number; inodes: number }> {
    return { mountpoint: this.snapshots.containersDir, ...(await this.snapshots.containersUsage()) };
  }

  /** Usage of one layer directory measured on disk (slow; for tests and tools). */
  async layerUsage(chainId: string): Promise<{ bytes: number; inodes: number }> {
    return treeUsage(this.snapshots.layerFs(chainId));
  }
}

export type { ImageRecord, ImageConfig };
