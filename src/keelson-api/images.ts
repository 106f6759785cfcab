// keelson.v1.Images, daemon side (definition in ./definitions.ts): `keelson rmi` with docker's
// semantics. The in-use check lives here and not in CRI RemoveImage on purpose: containerd's CRI
// removes an image a running container uses (its snapshot stays) and kubelet's image GC relies
// on that, so CRI stays as containerd; a person at the CLI gets docker's refusal instead.
import type * as grpc from '@grpc/grpc-js';
import type { ContainerService } from '../container/service.js';
import { InvalidArgumentError } from '../errors.js';
import { removeImageReference, type ImageUser } from '../image/image-rmi.js';
import type { ImageService } from '../image/image-service.js';
import type { SandboxService } from '../sandbox/service.js';
import type { ImageRemoveAnswer } from './definitions.js';
import { jsonServiceImplementation } from './json-service.js';

export { imagesService } from './definitions.js';

export interface ImagesApiDeps {
  images: ImageService;
  containers: ContainerService;
  sandboxes: SandboxService;
}

/** Every container record (running or exited) made from the image, with its pod's name. */
async function usersOf(deps: ImagesApiDeps, imageId: string): Promise<ImageUser[]> {
  const pods = new Map(deps.sandboxes.list().map((s) => [s.id, `${s.metadata.namespace}/${s.metadata.name}`]));
  return (await deps.containers.list())
    .filter((c) => c.imageId === imageId)
    .map((c) => ({ container: c.name, containerId: c.id, pod: pods.get(c.sandboxId) ?? c.sandboxId, state: c.state }));
}

export function imagesImplementation(deps: ImagesApiDeps): grpc.UntypedServiceImplementation {
  return jsonServiceImplementation({
    Remove: async (request: unknown): Promise<ImageRemoveAnswer> => {
      const r = (request ?? {}) as { image?: unknown; force?: unknown };
      if (typeof r.image !== 'string' || r.image.trim() === '') throw new InvalidArgumentError('Images/Remove: image must be a non-empty string');
      if (r.force !== undefined && typeof r.force !== 'boolean') throw new InvalidArgumentError('Images/Remove: force must be a boolean');
      return removeImageReference(deps.images, r.image, { force: r.force === true, usersOf: (id) => usersOf(deps, id) });
    },
  });
}
