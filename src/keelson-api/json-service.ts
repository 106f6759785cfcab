// The daemon side of keelson-only unary gRPC services with JSON messages both ways (their
// definitions are in ./definitions.ts): the CLI's way to ask the daemon what CRI has no call for.
import type * as grpc from '@grpc/grpc-js';
import { toServiceError } from '../cri/grpc-status.js';

/** Serves each method with an async handler; thrown errors map to gRPC codes in one place. */
export function jsonServiceImplementation(handlers: Record<string, (request: unknown) => Promise<unknown>>): grpc.UntypedServiceImplementation {
  return Object.fromEntries(Object.entries(handlers).map(([name, handle]) => [name,
    (call: grpc.ServerUnaryCall<unknown, unknown>, callback: grpc.sendUnaryData<unknown>) => {
      handle(call.request).then((answer) => callback(null, answer), (err: unknown) => callback(toServiceError(err)));
    }]));
}
