// keelson-only unary gRPC services beside CRI on the same socket, with JSON messages both
// ways (no .proto needed): the CLI's way to ask the daemon what CRI has no call for.
import * as grpc from '@grpc/grpc-js';
import { toServiceError } from './grpc-status.js';

const json = {
  serialize: (v: unknown) => Buffer.from(JSON.stringify(v ?? {})),
  deserialize: (b: Buffer) => (b.length === 0 ? {} : JSON.parse(b.toString('utf8'))) as unknown,
};

/** A service definition `/<service>/<method>` for each method name. */
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

/** Serves each method with an async handler; thrown errors map to gRPC codes in one place. */
export function jsonServiceImplementation(handlers: Record<string, (request: unknown) => Promise<unknown>>): grpc.UntypedServiceImplementation {
  return Object.fromEntries(Object.entries(handlers).map(([name, handle]) => [name,
    (call: grpc.ServerUnaryCall<unknown, unknown>, callback: grpc.sendUnaryData<unknown>) => {
      handle(call.request).then((answer) => callback(null, answer), (err: unknown) => callback(toServiceError(err)));
    }]));
}

/** One call from the client side. */
export function callJsonService<T>(socketPath: string, definition: grpc.ServiceDefinition, method: string, request: unknown, timeoutMs = 30_000): Promise<T> {
  const Client = grpc.makeGenericClientConstructor(definition, 'KeelsonJson');
  const client = new Client(`unix:${socketPath}`, grpc.credentials.createInsecure());
  const fn = (client as unknown as Record<string, (req: unknown, md: grpc.Metadata, opts: grpc.CallOptions,
    cb: (err: grpc.ServiceError | null, res?: unknown) => void) => void>)[method];
  if (!fn) throw new Error(`no method ${method}`);
  return new Promise<T>((resolve, reject) => {
    fn.call(client, request, new grpc.Metadata(), { deadline: Date.now() + timeoutMs }, (err, res) => {
      client.close();
      if (err) reject(err);
      else resolve(res as T);
    });
  });
}
