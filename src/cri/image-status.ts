import type { ImageService } from '../image/image-service.js';
import { InvalidArgumentError } from '../errors.js';
import type { ImageStatusRequest, ImageStatusResponse } from './generated/cri-types.js';
import { toCriImage } from './image-convert.js';

export function imageStatus(images: ImageService) {
  return async (request: ImageStatusRequest): Promise<ImageStatusResponse> => {
    const ref = request.image?.image ?? '';
    if (ref === '') throw new InvalidArgumentError('ImageStatus: image.image is required');
    const image = images.resolve(ref);
    // An unknown image is not an error: kubelet reads an empty answer as "not present".
    if (!image) return { info: {} };
    const info: Record<string, string> = {};
    if (request.verbose) {
      info.info = JSON.stringify({
        imageSpec: image.config,
        manifestDigest: image.manifestDigest,
        chainIds: image.chainIds,
        snapshotter: 'overlayfs',
      });
    }
    return { image: toCriImage(image), info };
  };
}
