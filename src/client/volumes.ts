// The client of keelson.v1.Volumes (src/keelson-api/volumes.ts): `keelson plugins`, `keelson
// volume ...`, and `keelson run`/`rm` publishing a pod's CSI volumes.
import type { PluginView } from '../csi/registry.js';
import type { VolumeView } from '../csi/named-volumes.js';
import type { NamedVolume } from '../csi/store.js';
import { volumesService, type PublishPodVolumesRequest } from '../keelson-api/definitions.js';
import { callJsonService } from './json-call.js';

export type { PublishPodVolumesRequest } from '../keelson-api/definitions.js';

/** The CLI side of keelson.v1.Volumes. */
export class VolumesClient {
  constructor(private readonly socket: string) {}

  async plugins(): Promise<PluginView[]> {
    return (await this.#call<{ plugins?: PluginView[] }>('Plugins', {})).plugins ?? [];
  }

  async create(name: string, driver: string, sizeBytes: number, parameters: Record<string, string>): Promise<NamedVolume> {
    return (await this.#call<{ volume: NamedVolume }>('CreateVolume', { name, driver, sizeBytes, parameters }, 600_000)).volume;
  }

  async list(): Promise<VolumeView[]> {
    return (await this.#call<{ volumes?: VolumeView[] }>('ListVolumes', {})).volumes ?? [];
  }

  async remove(name: string): Promise<void> {
    await this.#call('RemoveVolume', { name }, 600_000);
  }

  async expand(name: string, sizeBytes: number): Promise<NamedVolume> {
    return (await this.#call<{ volume: NamedVolume }>('ExpandVolume', { name, sizeBytes }, 600_000)).volume;
  }

  async publishPod(request: PublishPodVolumesRequest): Promise<Map<string, string>> {
    const answer = await this.#call<{ paths?: Record<string, string> }>('PublishPodVolumes', request, 600_000);
    return new Map(Object.entries(answer.paths ?? {}));
  }

  async unpublishPod(podUid: string): Promise<void> {
    await this.#call('UnpublishPodVolumes', { podUid }, 600_000);
  }

  #call<T>(method: string, request: unknown, timeoutMs?: number): Promise<T> {
    return callJsonService<T>(this.socket, volumesService, method, request, timeoutMs);
  }
}
