import type { ImageService } from '../image/image-service.js';
import type { ListImagesRequest, ListImagesResponse } from './generated/cri-types.js';
import { toCriImage } from './image-convert.js';

export function imageList(images: ImageService) {
  return async (request: ListImagesRequest): Promise<ListImagesResponse> => {
    const wanted = request.filter?.image?.image ?? '';
    if (wanted !== '') {
      const image = images.resolve(wanted);
      return { images: image ? [toCriImage(image)] : [] };
    }
    return { images: images.list().map(toCriImage) };
  };
}
