// The CRI client: a typed client of the RuntimeService and ImageService on the socket, for the CLI and tests.
import * as grpc from '@grpc/grpc-js';
import type { ImageServiceMethods, RuntimeServiceMethods } from '../cri/generated/cri-types.js';
import { criServices } from '../cri/proto.js';

type Unary<S> = {
  [M in keyof S]: S[M] extends { requestStream: false; responseStream: false } ? M : never;
}[keyof S];

type ServerStreaming<S> = {
  [M in keyof S]: S[M] extends { requestStream: false; responseStream: true } ? M : never;
}[keyof S];

/** A promise-returning call of one unary method, typed from the generated CRI types. */
export interface TypedClient<S extends { [M in keyof S]: { request: unknown; response: unknown } }> {
  call<M extends Unary<S> & keyof S & string>(
    method: M,
    request: S[M]['request'],
    options?: { timeoutMs?: number },
  ): Promise<S[M]['response']>;
  /** Every message of a server-streaming call that ends by itself (the Stream* lists). */
  collect<M extends ServerStreaming<S> & keyof S & string>(
    method: M,
    request: S[M]['request'],
    options?: { timeoutMs?: number },
  ): Promise<Array<S[M]['response']>>;
  raw: grpc.Client;
}

export interface CriClient {
  runtime: TypedClient<RuntimeServiceMethods>;
  image: TypedClient<ImageServiceMethods>;
  close(): void;
}

function typed<S extends { [M in keyof S]: { request: unknown; response: unknown } }>(
  client: grpc.Client,
): TypedClient<S> {
  const methods = client as unknown as Record<
    string,
    (req: unknown, meta: grpc.Metadata, opts: grpc.CallOptions, cb: (err: grpc.ServiceError | null, res: unknown) => void) => void
  >;
  const streams = client as unknown as Record<string, (req: unknown, meta: grpc.Metadata, opts: grpc.CallOptions) => grpc.ClientReadableStream<unknown>>;
  return {
    raw: client,
    collect(method, request, options) {
      const fn = streams[method];
      if (!fn) return Promise.reject(new Error(`no such CRI method ${method}`));
      const deadline = Date.now() + (options?.timeoutMs ?? 120_000);
      return new Promise((resolve, reject) => {
        const messages: unknown[] = [];
        const call = fn.call(client, request, new grpc.Metadata(), { deadline });
        call.on('data', (m: unknown) => messages.push(m));
        call.on('error', reject);
        call.on('end', () => resolve(messages as never));
      });
    },
    call(method, request, options) {
      const fn = methods[method];
      if (!fn) return Promise.reject(new Error(`no such CRI method ${method}`));
      const deadline = Date.now() + (options?.timeoutMs ?? 120_000);
      return new Promise((resolve, reject) => {
        fn.call(client, request, new grpc.Metadata(), { deadline }, (err, res) =>
          err ? reject(err) : resolve(res as never),
        );
      });
    },
  };
}

/** A client on the CRI socket, as kubelet or crictl would use it. */
export function connectCri(socketPath: string): CriClient {
  const services = criServices();
  const target = `unix:${socketPath}`;
  const credentials = grpc.credentials.createInsecure();
  const runtime = new services.RuntimeServiceClient(target, credentials);
  // The image client shares the runtime client's channel.
  const image = new services.ImageServiceClient(target, credentials, { channelOverride: runtime.getChannel() });
  return {
    runtime: typed<RuntimeServiceMethods>(runtime),
    image: typed<ImageServiceMethods>(image),
    close() {
      runtime.close();
    },
  };
}

/** Whether a call failed with NOT_FOUND (so callers outside src/client need not know gRPC codes). */
export function isNotFound(err: unknown): boolean {
  return (err as { code?: unknown } | null)?.code === grpc.status.NOT_FOUND;
}
