// keelson.v1.Volumes, daemon side (definition in ./definitions.ts): the CLI's door to the
// daemon's CSI side (`keelson plugins`, `keelson volume ...`, and `keelson run`/`rm` publishing a
// pod's CSI volumes). JSON messages; requests are checked here, since the CLI's JSON is as
// untrusted as any wire input.
import type * as grpc from '@grpc/grpc-js';
import type { CsiService } from '../csi/service.js';
import type { PodVolumeSource } from '../csi/node-volumes.js';
import { InvalidArgumentError } from '../errors.js';
import type { PublishPodVolumesRequest } from './definitions.js';
import { jsonServiceImplementation } from './json-service.js';

export { volumesService } from './definitions.js';

function record(v: unknown, where: string): Record<string, unknown> {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new InvalidArgumentError(`${where} must be an object`);
  return v as Record<string, unknown>;
}

function text(v: unknown, where: string, optional = false): string {
  if (v === undefined && optional) return '';
  if (typeof v !== 'string') throw new InvalidArgumentError(`${where} must be a string`);
  return v;
}

function stringMap(v: unknown, where: string): Record<string, string> {
  if (v === undefined || v === null) return {};
  const r = record(v, where);
  for (const [k, x] of Object.entries(r)) text(x, `${where}.${k}`);
  return r as Record<string, string>;
}

function sizeOf(v: unknown, where: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw new InvalidArgumentError(`${where} must be a whole number of bytes`);
  return v;
}

function sourceOf(v: unknown, where: string): PodVolumeSource {
  const s = record(v, where);
  const readOnly = s.readOnly === true;
  if (s.kind === 'named') return { kind: 'named', volume: text(s.volume, `${where}.volume`), readOnly };
  if (s.kind === 'inline') {
    return {
      kind: 'inline', driver: text(s.driver, `${where}.driver`), attributes: stringMap(s.attributes, `${where}.attributes`), readOnly,
      fsType: text(s.fsType, `${where}.fsType`, true), secrets: stringMap(s.secrets, `${where}.secrets`),
    };
  }
  throw new InvalidArgumentError(`${where}.kind must be "named" or "inline"`);
}

function publishRequest(v: unknown): PublishPodVolumesRequest {
  const r = record(v, 'request');
  const pod = record(r.pod, 'pod');
  if (!Array.isArray(r.volumes)) throw new InvalidArgumentError('volumes must be a list');
  return {
    pod: { uid: text(pod.uid, 'pod.uid'), name: text(pod.name, 'pod.name'), namespace: text(pod.namespace, 'pod.namespace'),
      serviceAccount: text(pod.serviceAccount, 'pod.serviceAccount', true) || 'default' },
    volumes: r.volumes.map((x: unknown, i) => {
      const one = record(x, `volumes[${i}]`);
      return { name: text(one.name, `volumes[${i}].name`), source: sourceOf(one.source, `volumes[${i}].source`) };
    }),
  };
}

export function volumesImplementation(csi: CsiService): grpc.UntypedServiceImplementation {
  return jsonServiceImplementation({
    Plugins: async () => ({ plugins: csi.registry.list() }),
    CreateVolume: async (req) => {
      const r = record(req, 'request');
      return { volume: await csi.namedVolumes.create(text(r.name, 'name'), text(r.driver, 'driver'), sizeOf(r.sizeBytes, 'sizeBytes'), stringMap(r.parameters, 'parameters')) };
    },
    ListVolumes: async () => ({ volumes: await csi.namedVolumes.list() }),
    RemoveVolume: async (req) => {
      await csi.namedVolumes.remove(text(record(req, 'request').name, 'name'));
      return {};
    },
    ExpandVolume: async (req) => {
      const r = record(req, 'request');
      return { volume: await csi.namedVolumes.expand(text(r.name, 'name'), sizeOf(r.sizeBytes, 'sizeBytes')) };
    },
    PublishPodVolumes: async (req) => {
      const r = publishRequest(req);
      return { paths: Object.fromEntries(await csi.nodeVolumes.publishPod(r.pod, r.volumes)) };
    },
    UnpublishPodVolumes: async (req) => {
      await csi.nodeVolumes.unpublishPod(text(record(req, 'request').podUid, 'podUid'));
      return {};
    },
  });
}
