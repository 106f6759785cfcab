import type { ImageService } from '../image/image-service.js';
import { InvalidArgumentError } from '../errors.js';
import type { PullImageRequest, PullImageResponse } from './generated/cri-types.js';

/**
 * `handlers` lists the usable runtime handlers (the registry's). A pull for a runtime handler (RuntimeClass
 * with per-handler pulls) must name one of them, as containerd refuses an unknown one; every
 * handler shares keelson's one image store, so a known handler pulls into it.
 */
export function imagePull(images: ImageService, handlers: () => string[] = () => []) {
  return async (request: PullImageRequest): Promise<PullImageResponse> => {
    const ref = request.image?.image ?? '';
    if (ref === '') throw new InvalidArgumentError('PullImage: image.image is required');
    const handler = request.image?.runtime_handler ?? '';
    if (handler !== '' && !handlers().includes(handler)) {
      throw new InvalidArgumentError(`PullImage: image.runtime_handler ${JSON.stringify(handler)} is not configured or its binary is missing (usable: ${handlers().join(', ')})`);
    }
    const image = await images.pull(ref, request.auth);
    return { image_ref: image.id };
  };
}
