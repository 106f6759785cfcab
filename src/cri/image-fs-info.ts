import type { ImageService } from '../image/image-service.js';
import type { ImageFsInfoRequest, ImageFsInfoResponse } from './generated/cri-types.js';
import { nowNs } from '../time.js';

export function imageFsInfo(images: ImageService) {
  return async (_request: ImageFsInfoRequest): Promise<ImageFsInfoResponse> => {
    const [usage, containers] = await Promise.all([images.fsUsage(), images.containerFsUsage()]);
    const timestamp = nowNs();
    return {
      image_filesystems: [{
        timestamp,
        fs_id: { mountpoint: usage.mountpoint },
        used_bytes: { value: String(usage.bytes) },
        inodes_used: { value: String(usage.inodes) },
      }],
      // The writable layers, on the same filesystem as the images (kubelet's split-fs check compares the two).
      container_filesystems: [{
        timestamp,
        fs_id: { mountpoint: containers.mountpoint },
        used_bytes: { value: String(containers.bytes) },
        inodes_used: { value: String(containers.inodes) },
      }],
    };
  };
}
