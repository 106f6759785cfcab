// One call of a keelson-only unary JSON service (src/keelson-api/definitions.ts) on the socket.
import * as grpc from '@grpc/grpc-js';

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
