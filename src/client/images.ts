// The client of keelson.v1.Images (src/keelson-api/images.ts): `keelson rmi`.
import { imagesService, type ImageRemoveAnswer } from '../keelson-api/definitions.js';
import { callJsonService } from './json-call.js';

export type { ImageRemoveAnswer } from '../keelson-api/definitions.js';

/** Removes one image reference, docker's way; a gRPC error (NOT_FOUND, FAILED_PRECONDITION) otherwise. */
export function removeImage(socketPath: string, image: string, force: boolean): Promise<ImageRemoveAnswer> {
  return callJsonService<ImageRemoveAnswer>(socketPath, imagesService, 'Remove', { image, force }, 120_000);
}
