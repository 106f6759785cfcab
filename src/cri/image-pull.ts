import type { ImageService } from '../image/image-service.js';
import { InvalidArgumentError } from '../errors.js';
import type { PullImageRequest, PullImageResponse } from './generated/cri-types.js';

export function imagePull(images: ImageService) {
  return async (request: PullImageRequest): Promise<PullImageResponse> => {
    const ref = request.image?.image ?? '';
    if (ref === '') throw new InvalidArgumentError('PullImage: image.image is required');
    const image = await images.pull(ref, request.auth);
    return { image_ref: image.id };
  };
}
