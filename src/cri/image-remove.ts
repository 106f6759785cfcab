import type { ImageService } from '../image/image-service.js';
import { InvalidArgumentError } from '../errors.js';
import type { RemoveImageRequest, RemoveImageResponse } from './generated/cri-types.js';

export function imageRemove(images: ImageService) {
  return async (request: RemoveImageRequest): Promise<RemoveImageResponse> => {
    const ref = request.image?.image ?? '';
    if (ref === '') throw new InvalidArgumentError('RemoveImage: image.image is required');
    // Removing an image that is not there is not an error (kubelet retries removals).
    await images.remove(ref);
    return {};
  };
}
