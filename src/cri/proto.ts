import { readFileSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import { fromJSON } from '@grpc/proto-loader';
import { LOADER_OPTIONS } from '../proto-options.js';

// The project's own copy of the CRI v1 descriptor; src/cri/generated/ is derived from the
// same file by scripts/gen-cri-types.mjs, so the types and the wire cannot disagree.
const DESCRIPTOR_URL = new URL('../../reference/cri-runtime-v1.json', import.meta.url);


export interface CriServiceDefinitions {
  RuntimeService: grpc.ServiceDefinition;
  ImageService: grpc.ServiceDefinition;
  RuntimeServiceClient: grpc.ServiceClientConstructor;
  ImageServiceClient: grpc.ServiceClientConstructor;
}

let cached: CriServiceDefinitions | undefined;

export function criServices(): CriServiceDefinitions {
  if (cached) return cached;
  const json = JSON.parse(readFileSync(DESCRIPTOR_URL, 'utf8')) as Record<string, unknown>;
  const loaded = grpc.loadPackageDefinition(fromJSON(json, LOADER_OPTIONS));
  const v1 = (loaded.runtime as grpc.GrpcObject).v1 as grpc.GrpcObject;
  const runtime = v1.RuntimeService as grpc.ServiceClientConstructor;
  const image = v1.ImageService as grpc.ServiceClientConstructor;
  cached = {
    RuntimeService: runtime.service,
    ImageService: image.service,
    RuntimeServiceClient: runtime,
    ImageServiceClient: image,
  };
  return cached;
}
