import type { ImageService } from '../image/image-service.js';
import type { ImageFsInfoRequest, ImageFsInfoResponse } from './generated/cri-types.js';
import { nowNs } from '../time.js';

export function imageFsInfo(images: ImageService) {
  return async (_request: ImageFsInfoRequest): Promise<ImageFsInfoResponse> => {
    const usage = await images.fsUsage();
    const timestamp = nowNs();
    return {
      image_filesystems: [{
        timestamp,
        fs_id: { mountpoint: usage.mountpoint },
        used_bytes: { value: String(usage.bytes) },
        inodes_used: { value: String(usage.inodes) },
      }],
      container_filesystems: [],
    };
  };
}
