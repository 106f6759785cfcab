// `keelson rmi`, as `docker rmi`/`podman rmi` (not CRI RemoveImage, which drops every name of
// the image at once: kubelet's image GC relies on that, so src/cri keeps it). A tag or digest
// reference untags that one name; the image goes only with its last name. An image id removes
// the image only when it has a single name (one tag, plus digests of that tag's repository), as
// docker's isSingleReference, or with force. An image some container uses (running or exited)
// is removed only with force; its layers stay, leased by those containers (snapshotter.ts).
import { FailedPreconditionError, NotFoundError } from '../errors.js';
import type { ImageService } from './image-service.js';
import type { ImageRecord } from './image-store.js';
import { formatReference, isDigest, parseReference, repoName } from './reference.js';

/** A container whose record names the image (its rootfs is made of the image's layers). */
export interface ImageUser {
  container: string;
  containerId: string;
  /** `namespace/name` of its pod. */
  pod: string;
  /** created, running, exited or unknown. */
  state: string;
}

export interface RmiResult {
  untagged: string[];
  deleted: string[];
}

export interface RmiOptions {
  force: boolean;
  /** Containers using the image with this id. */
  usersOf: (imageId: string) => Promise<ImageUser[]>;
}

/** The repository of a stored name (`host/repo:tag` or `host/repo@sha256:...`). */
export function repositoryOf(name: string): string {
  const at = name.indexOf('@');
  if (at !== -1) return name.slice(0, at);
  const colon = name.lastIndexOf(':');
  return colon > name.lastIndexOf('/') ? name.slice(0, colon) : name;
}

/** docker's isSingleReference: at most one tag, and every digest name in that tag's repository. */
export function isSingleReference(image: Pick<ImageRecord, 'repoTags' | 'repoDigests'>): boolean {
  if (image.repoTags.length > 1) return false;
  const digestRepos = new Set(image.repoDigests.map(repositoryOf));
  const tag = image.repoTags[0];
  if (tag === undefined) return digestRepos.size <= 1;
  return digestRepos.size === 0 || (digestRepos.size === 1 && digestRepos.has(repositoryOf(tag)));
}

/** The stored name `ref` spells (a tag or a repo@digest), if it is one; ids and id prefixes are not. */
function storedName(images: ImageService, ref: string): { name: string; image: ImageRecord } | null {
  if (isDigest(ref.trim())) return null;
  let name: string;
  try {
    const parsed = parseReference(ref.trim());
    name = parsed.digest !== undefined ? `${repoName(parsed)}@${parsed.digest}` : formatReference(parsed);
  } catch {
    return null;
  }
  const image = images.store.byName(name);
  return image ? { name, image } : null;
}

async function refuseIfUsed(ref: string, image: ImageRecord, opts: RmiOptions): Promise<void> {
  if (opts.force) return;
  const users = await opts.usersOf(image.id);
  if (users.length === 0) return;
  const who = users.map((u) => `container ${u.container} of pod ${u.pod} (${u.state})`).join(', ');
  // Exited containers hold the image until their pod is removed; running ones are stopped first.
  const advice = users.some((u) => u.state === 'running' || u.state === 'created') ? 'stop the pod first' : 'remove the pod first';
  throw new FailedPreconditionError(`image ${ref} is in use by ${who}: ${advice} or use --force`);
}

/** Removes `ref` the docker way (see the file comment). NotFound when nothing matches. */
export async function removeImageReference(images: ImageService, ref: string, opts: RmiOptions): Promise<RmiResult> {
  const named = storedName(images, ref);
  if (named) {
    const { name, image } = named;
    const drop = [name];
    if (!name.includes('@')) {
      // docker: when a repository's last tag goes, its digest names go with it.
      const repo = repositoryOf(name);
      if (!image.repoTags.some((t) => t !== name && repositoryOf(t) === repo)) {
        drop.push(...image.repoDigests.filter((d) => repositoryOf(d) === repo));
      }
    }
    const left = [...image.repoTags, ...image.repoDigests].filter((n) => !drop.includes(n));
    if (left.length > 0) {
      images.store.deleteNames(drop);
      return { untagged: drop, deleted: [] };
    }
    await refuseIfUsed(ref, image, opts);
    await images.remove(image.id);
    return { untagged: drop, deleted: [image.id] };
  }
  const image = images.resolve(ref);
  if (!image) throw new NotFoundError(`no such image: ${ref}`);
  if (!opts.force && !isSingleReference(image)) {
    const names = [...image.repoTags, ...new Set(image.repoDigests.map(repositoryOf))].join(', ');
    throw new FailedPreconditionError(`image ${ref} is referenced in multiple repositories (${names}): remove it by name, or use --force to remove all of them`);
  }
  await refuseIfUsed(ref, image, opts);
  await images.remove(image.id);
  return { untagged: [...image.repoTags, ...image.repoDigests], deleted: [image.id] };
}
