// Pieces of CSI requests that both named volumes and pods' node volumes send.
import type { VolumeCapability } from './generated/csi-types.js';
import type { CsiPlugin } from './registry.js';

/** A filesystem volume one node writes (kubelet's ReadWriteOnce): what keelson asks of every plugin. */
export function mountCapability(fsType: string): VolumeCapability {
  return { mount: { fs_type: fsType, mount_flags: [] }, access_mode: { mode: 'SINGLE_NODE_WRITER' } };
}

/** NodeExpandVolume at a mounted path; answers the capacity the plugin reports, if any. */
export async function nodeExpand(plugin: CsiPlugin, volumeId: string, path: string, stagingPath: string, bytes: number): Promise<number | null> {
  const answer = await plugin.client.node('NodeExpandVolume', {
    volume_id: volumeId, volume_path: path, staging_target_path: stagingPath,
    capacity_range: { required_bytes: String(bytes), limit_bytes: '0' }, volume_capability: mountCapability(''),
  });
  return Number(answer.capacity_bytes ?? 0) || null;
}
