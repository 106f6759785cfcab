// Loads the project's copy of the CSI v1 descriptor (reference/csi-v1.json). It refers to
// google.protobuf types it does not carry (descriptor options for its csi_secret/alpha_*
// extensions, the Int64Value/BoolValue wrappers, Timestamp); protobufjs ships them, so they are
// merged in under google.protobuf before loading. src/csi/generated/ is derived from the same
// file by scripts/gen-cri-types.mjs.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import * as grpc from '@grpc/grpc-js';
import { fromJSON } from '@grpc/proto-loader';
import protobuf from 'protobufjs';
import { LOADER_OPTIONS } from '../proto-options.js';

const DESCRIPTOR_URL = new URL('../../reference/csi-v1.json', import.meta.url);
const require = createRequire(import.meta.url);

export interface CsiServiceDefinitions {
  Identity: grpc.ServiceClientConstructor;
  Controller: grpc.ServiceClientConstructor;
  Node: grpc.ServiceClientConstructor;
}

type Nested = Record<string, { nested?: Nested } & Record<string, unknown>>;

/** The CSI descriptor with google.protobuf merged in, ready for fromJSON. */
export function csiDescriptor(): Record<string, unknown> {
  const json = JSON.parse(readFileSync(DESCRIPTOR_URL, 'utf8')) as { nested: Nested };
  const descriptor = require('protobufjs/google/protobuf/descriptor.json') as { nested: { google: { nested: { protobuf: { nested: Nested } } } } };
  const common = (file: string): Nested => {
    const got = protobuf.common.get(file) as { nested: { google: { nested: { protobuf: { nested: Nested } } } } } | null;
    if (!got) throw new Error(`protobufjs does not ship ${file}`);
    return got.nested.google.nested.protobuf.nested;
  };
  const google = {
    ...descriptor.nested.google.nested.protobuf.nested,
    ...common('google/protobuf/wrappers.proto'),
    ...common('google/protobuf/timestamp.proto'),
  };
  json.nested.google = { nested: { protobuf: { nested: google } } };
  return json;
}

let cached: CsiServiceDefinitions | undefined;

export function csiServices(): CsiServiceDefinitions {
  if (cached) return cached;
  const loaded = grpc.loadPackageDefinition(fromJSON(csiDescriptor(), LOADER_OPTIONS));
  const v1 = (loaded.csi as grpc.GrpcObject).v1 as grpc.GrpcObject;
  cached = {
    Identity: v1.Identity as grpc.ServiceClientConstructor,
    Controller: v1.Controller as grpc.ServiceClientConstructor,
    Node: v1.Node as grpc.ServiceClientConstructor,
  };
  return cached;
}
