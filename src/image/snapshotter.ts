// Overlay snapshots: one directory per layer, <root>/snapshots/<chain id hex>/fs, shared by
// every image with that layer. A layer becomes visible only once fully unpacked and
// verified (renamed from a temp dir, then recorded). Container roots are overlays of an
// image's layers with their own upper and work dirs under <root>/container-roots/<id>/.
import { randomBytes } from 'node:crypto';
import { renameSync } from 'node:fs';
import { chmod, chown, lstat, mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { InvalidArgumentError, KeelsonError, NotFoundError } from '../errors.js';
import { mount, mountOverlay, umount, NativeError } from '../native.js';
import type { Logger } from '../logger.js';
import type { ImageStore } from './image-store.js';
import { TreeRemover } from './tree-removal.js';

const TEMP_PREFIX = 'tmp-';
const CONTAINER_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

export interface LayerUnpacked {
  bytes: number;
  inodes: number;
}

export class Snapshotter {
  readonly snapshotsDir: string;
  readonly containersDir: string;
  readonly #inFlight = new Map<string, Promise<void>>();
  /** Removed layer dirs are deleted in the background, after a rename. */
  readonly remover: TreeRemover;

  constructor(readonly root: string, readonly store: ImageStore, log: Logger | null = null) {
    this.remover = new TreeRemover(log);
    this.snapshotsDir = join(root, 'snapshots');
    // Apart from <root>/containers, which holds the container service's bundles.
    this.containersDir = join(root, 'container-roots');
  }

  async init(): Promise<void> {
    await mkdir(this.snapshotsDir, { recursive: true, mode: 0o700 });
    await mkdir(this.containersDir, { recursive: true, mode: 0o700 });
  }

  layerDir(chainId: string): string {
    return join(this.snapshotsDir, chainId.replace(/^sha256:/, ''));
  }

  layerFs(chainId: string): string {
    return join(this.layerDir(chainId), 'fs');
  }

  has(chainId: string): boolean {
    return this.store.getSnapshot(chainId) !== null;
  }

  /**
   * Makes the layer `chainId` exist, unpacking it with `unpack` into a temp dir first.
   * Concurrent calls for one chain id share one unpack.
   */
  ensureLayer(chainId: string, diffId: string, parent: string | null, unpack: (fsDir: string) => Promise<LayerUnpacked>): Promise<void> {
    if (this.has(chainId)) return Promise.resolve();
    const running = this.#inFlight.get(chainId);
    if (running) return running;
    const work = this.#unpackLayer(chainId, diffId, parent, unpack).finally(() => this.#inFlight.delete(chainId));
    this.#inFlight.set(chainId, work);
    return work;
  }

  async #unpackLayer(chainId: string, diffId: string, parent: string | null, unpack: (fsDir: string) => Promise<LayerUnpacked>): Promise<void> {
    const temp = join(this.snapshotsDir, `${TEMP_PREFIX}${randomBytes(8).toString('hex')}`);
    await mkdir(join(temp, 'fs'), { recursive: true, mode: 0o755 });
    try {
      const result = await unpack(join(temp, 'fs'));
      const final = this.layerDir(chainId);
      await rm(final, { recursive: true, force: true });
      await rename(temp, final);
      this.store.putSnapshot({ chainId, diffId, parent, bytes: result.bytes, inodes: result.inodes });
    } catch (err) {
      await rm(temp, { recursive: true, force: true });
      throw err;
    }
  }

  /** Removes a layer's record and directory (renamed at once, deleted in the background). */
  async removeLayer(chainId: string): Promise<void> {
    this.store.deleteSnapshot(chainId);
    // Renamed away at once (atomically), so a pull that re-creates this layer meanwhile
    // never has its fresh directory deleted by the slower recursive removal.
    await this.#removeTree(this.layerDir(chainId));
  }

  /**
   * Renames a tree to snapshots/tmp-gc-* and deletes it in the background (a killed daemon's
   * leftover goes at the next start, removeTempDirs). A tree on another filesystem than the
   * snapshots dir is deleted in place, before this returns. Missing is fine.
   */
  async #removeTree(path: string): Promise<void> {
    const doomed = join(this.snapshotsDir, `${TEMP_PREFIX}gc-${randomBytes(8).toString('hex')}`);
    try {
      renameSync(path, doomed);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return;
      if (code === 'EXDEV') return rm(path, { recursive: true, force: true });
      throw err;
    }
    this.remover.removeInBackground(doomed);
  }

  containerDir(containerId: string): string {
    if (!CONTAINER_ID.test(containerId)) throw new InvalidArgumentError(`container id "${containerId}" is not valid`);
    return join(this.containersDir, containerId);
  }

  /**
   * Mounts the container's root filesystem: overlay of the image's layers (top first) with
   * an upper and work dir of its own, and takes a lease so the layers outlive the image.
   */
  async prepareContainerRootfs(containerId: string, imageId: string): Promise<{ rootfs: string }> {
    const dir = this.containerDir(containerId);
    const image = this.store.get(imageId);
    if (!image) throw new NotFoundError(`image ${imageId} not found`);
    const rootfs = join(dir, 'rootfs');
    for (const chainId of image.chainIds) {
      if (!this.has(chainId)) throw new KeelsonError('FailedPrecondition', `layer ${chainId} of image ${imageId} is missing on disk`);
    }
    this.store.putLease(containerId, imageId, image.chainIds);
    try {
      await mkdir(dir, { mode: 0o700 });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw new KeelsonError('AlreadyExists', `container ${containerId} already has a root filesystem`);
      this.store.deleteLease(containerId);
      throw err;
    }
    try {
      const lower = image.chainIds.map((c) => this.layerFs(c)).reverse();
      const upper = join(dir, 'upper');
      await mkdir(upper, { mode: 0o755 });
      // overlayfs shows the upper dir's own attributes for the merged root, so the upper root
      // takes the top layer's (a layer's "/" entry, say 0751): the image's / as a plain untar
      // would leave it. containerd's overlay snapshotter copies the owner only.
      const top = await lstat(lower[0] ?? upper);
      await chown(upper, top.uid, top.gid);
      await chmod(upper, top.mode & 0o7777);
      await mkdir(join(dir, 'work'), { mode: 0o700 });
      await mkdir(rootfs, { mode: 0o755 });
      await mountOverlay(rootfs, { lower, upper, work: join(dir, 'work') }, { options: [['index', 'off']] });
      return { rootfs };
    } catch (err) {
      await rm(dir, { recursive: true, force: true });
      this.store.deleteLease(containerId);
      throw err;
    }
  }

  /**
   * Image volume `index` of a container: the image's layers as an overlay with no upper dir
   * (read-only by construction, and mounted ro, nosuid, nodev), under the container's dir, with
   * a lease of its own so the layers outlive the image. Call after prepareContainerRootfs.
   */
  async mountImageVolume(containerId: string, index: number, imageId: string): Promise<string> {
    const image = this.store.get(imageId);
    if (!image) throw new NotFoundError(`image ${imageId} not found`);
    for (const chainId of image.chainIds) {
      if (!this.has(chainId)) throw new KeelsonError('FailedPrecondition', `layer ${chainId} of image ${imageId} is missing on disk`);
    }
    const target = join(this.containerDir(containerId), 'image-volumes', String(index));
    this.store.putLease(`${containerId}#iv${index}`, imageId, image.chainIds);
    await mkdir(target, { recursive: true, mode: 0o755 });
    const lower = image.chainIds.map((c) => this.layerFs(c)).reverse();
    // overlayfs wants two lower layers when it has no upper one: a one-layer image is a ro bind.
    if (lower.length === 1) await mount(lower[0] as string, target, null, ['bind', 'ro', 'nosuid', 'nodev']);
    else await mountOverlay(target, { lower }, { flags: ['ro', 'nosuid', 'nodev'] });
    return target;
  }

  /** Unmounts and removes the container's root filesystem and image volumes, and releases its leases. Idempotent. */
  async removeContainerRootfs(containerId: string): Promise<void> {
    const dir = this.containerDir(containerId);
    const volumes = join(dir, 'image-volumes');
    const targets = [...(await readdir(volumes).catch(() => [] as string[])).map((n) => join(volumes, n)), join(dir, 'rootfs')];
    for (const target of targets) {
      for (;;) {
        try {
          await umount(target, { detach: true, noFollow: true });
        } catch (err) {
          if (err instanceof NativeError && (err.code === 'EINVAL' || err.code === 'ENOENT')) break;
          throw err;
        }
      }
    }
    // What the container wrote (its upper dir) can be a big tree: removed like a layer. Nothing
    // is mounted under dir any more, and rm --one-file-system would not cross a mount anyway.
    await this.#removeTree(dir);
    this.store.deleteLease(containerId);
  }

  /** Bytes and inodes in the container's upper dir (what it wrote). */
  async usage(containerId: string): Promise<{ bytes: number; inodes: number }> {
    return treeUsage(join(this.containerDir(containerId), 'upper'));
  }

  /** What every container wrote: the sum over their upper dirs (ImageFsInfo's container filesystem). */
  async containersUsage(): Promise<{ bytes: number; inodes: number }> {
    let bytes = 0;
    let inodes = 0;
    for (const id of await readdir(this.containersDir).catch(() => [] as string[])) {
      const u = await this.usage(id).catch(() => ({ bytes: 0, inodes: 0 })); // removed meanwhile
      bytes += u.bytes;
      inodes += u.inodes;
    }
    return { bytes, inodes };
  }

  /** Temp dirs of unpacks that never finished and trees whose background removal a killed daemon did not finish. */
  async removeTempDirs(): Promise<string[]> {
    const removed: string[] = [];
    for (const name of await readdir(this.snapshotsDir).catch(() => [] as string[])) {
      if (name.startsWith(TEMP_PREFIX)) {
        this.remover.removeInBackground(join(this.snapshotsDir, name));
        removed.push(name);
      }
    }
    return removed;
  }

  /** Names (chain id hex) of layer dirs on disk. */
  async layerDirsOnDisk(): Promise<string[]> {
    return (await readdir(this.snapshotsDir).catch(() => [] as string[])).filter((n) => !n.startsWith(TEMP_PREFIX));
  }
}

/** Bytes (allocated) and inodes of a tree, not following symlinks. */
export async function treeUsage(root: string): Promise<{ bytes: number; inodes: number }> {
  let bytes = 0;
  let inodes = 0;
  const seen = new Set<number>();
  const walk = async (dir: string): Promise<void> => {
    let names: string[];
    try {
      names = await readdir(dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw err;
    }
    for (const name of names) {
      const path = join(dir, name);
      const st = await lstat(path).catch(() => null);
      if (!st) continue;
      if (!seen.has(st.ino)) {
        seen.add(st.ino);
        bytes += st.blocks * 512;
        inodes++;
      }
      if (st.isDirectory()) await walk(path);
    }
  };
  const top = await stat(root).catch(() => null);
  if (!top) throw new NotFoundError(`${root} does not exist`);
  await walk(root);
  return { bytes, inodes };
}
