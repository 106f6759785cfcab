// The wire side of keelson's own gRPC services beside CRI on the same socket, shared by the
// daemon (src/keelson-api/*) and the clients (src/client/*): service definitions, metadata
// keys and message shapes. No .proto is needed: messages are raw bytes or JSON. Nothing here
// may load daemon code; the CLI imports it (test/unit/cli/module-graph.test.ts).
import type * as grpc from '@grpc/grpc-js';
import type { PodRef, PodVolumeRequest } from '../csi/node-volumes.js';
import type { HookResult } from '../supervisor/lifecycle.js';
import type { PodView, StopPodResult } from '../supervisor/supervisor.js';

const json = {
  serialize: (v: unknown) => Buffer.from(JSON.stringify(v ?? {})),
  deserialize: (b: Buffer) => (b.length === 0 ? {} : JSON.parse(b.toString('utf8'))) as unknown,
};

/** A unary JSON service definition `/<service>/<method>` for each method name. */
export function jsonServiceDefinition(service: string, methods: readonly string[]): grpc.ServiceDefinition {
  return Object.fromEntries(methods.map((m) => [m, {
    path: `/${service}/${m}`,
    requestStream: false,
    responseStream: false,
    requestSerialize: json.serialize,
    requestDeserialize: json.deserialize,
    responseSerialize: json.serialize,
    responseDeserialize: json.deserialize,
  }]));
}

// keelson.v1.ImageImport/Import, client streaming: raw archive bytes in, JSON out.

export interface ImportAnswer {
  images: Array<{ id: string; repoTags: string[] }>;
}

/** Metadata key carrying the repository for bare tags in an archive (`--name`). */
export const IMPORT_REPO_HEADER = 'keelson-import-repo';

const identity = (b: Buffer): Buffer => b;

export const imageImportService: grpc.ServiceDefinition = {
  Import: {
    path: '/keelson.v1.ImageImport/Import',
    requestStream: true,
    responseStream: false,
    requestSerialize: identity,
    requestDeserialize: identity,
    responseSerialize: (a: ImportAnswer) => Buffer.from(JSON.stringify(a)),
    responseDeserialize: (b: Buffer) => JSON.parse(b.toString('utf8')) as ImportAnswer,
  },
};

// keelson.v1.Supervisor/Pods: restarts and readiness of the supervised pods.

export interface SupervisorAnswer {
  pods: PodView[];
}

// StopPod: the graceful stop of `keelson down/rm/stop` (preStop, stop signal, grace, sandbox).
// PostStart: `keelson run` asks the daemon to run a container's postStart after starting it.
export const supervisorService = jsonServiceDefinition('keelson.v1.Supervisor', ['Pods', 'StopPod', 'PostStart']);

export interface StopPodRequest {
  pod_sandbox_id: string;
  /** Overrides the pod's terminationGracePeriodSeconds; 0 kills at once. */
  grace_seconds?: number;
}
export type StopPodAnswer = StopPodResult;

export interface PostStartRequest {
  container_id: string;
}
export interface PostStartAnswer {
  /** Absent when the container has no postStart hook. */
  hook?: HookResult;
}

// keelson.v1.Volumes: plugins, named volumes, a pod's CSI volumes.

const VOLUMES_METHODS = ['Plugins', 'CreateVolume', 'ListVolumes', 'RemoveVolume', 'ExpandVolume', 'PublishPodVolumes', 'UnpublishPodVolumes'] as const;
export const volumesService = jsonServiceDefinition('keelson.v1.Volumes', VOLUMES_METHODS);

export interface PublishPodVolumesRequest {
  pod: PodRef;
  volumes: PodVolumeRequest[];
}

// keelson.v1.Images/Remove: `keelson rmi`, docker's semantics (src/image/image-rmi.ts).

export interface ImageRemoveRequest {
  image: string;
  force: boolean;
}

export interface ImageRemoveAnswer {
  untagged: string[];
  deleted: string[];
}

export const imagesService = jsonServiceDefinition('keelson.v1.Images', ['Remove']);
