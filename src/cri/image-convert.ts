// Maps image records to CRI Image messages (shared by the image RPC handlers).
import type { ImageRecord } from '../image/image-store.js';
import type { Image } from './generated/cri-types.js';

/** CRI's uid/username from the config's User ("1000", "1000:1000", "name", "name:group"). */
export function imageUser(user: string | undefined): { uid?: { value: string }; username: string } {
  const name = (user ?? '').split(':')[0] ?? '';
  if (name === '') return { username: '' };
  if (/^\d+$/.test(name)) return { uid: { value: name }, username: '' };
  return { username: name };
}

export function toCriImage(image: ImageRecord): Image {
  const user = imageUser(image.config.config?.User);
  return {
    id: image.id,
    repo_tags: image.repoTags,
    repo_digests: image.repoDigests,
    size: String(image.size),
    ...(user.uid ? { uid: user.uid } : {}),
    username: user.username,
    spec: { image: image.id, annotations: {} },
    pinned: false,
  };
}
