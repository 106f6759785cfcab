// A keelson-only gRPC service beside CRI on the same socket: keelson.v1.Supervisor/Pods, unary,
// JSON both ways (no .proto needed). `keelson pods` reads restarts and readiness of the pods
// the daemon's supervisor watches; CRI has no field for them.
import * as grpc from '@grpc/grpc-js';
import type { PodView, Supervisor } from '../supervisor/supervisor.js';
import { toServiceError } from './grpc-status.js';

export interface SupervisorAnswer {
  pods: PodView[];
}

const json = {
  serialize: (v: unknown) => Buffer.from(JSON.stringify(v ?? {})),
  deserialize: (b: Buffer) => (b.length === 0 ? {} : JSON.parse(b.toString('utf8'))) as unknown,
};

export const supervisorService: grpc.ServiceDefinition = {
  Pods: {
    path: '/keelson.v1.Supervisor/Pods',
    requestStream: false,
    responseStream: false,
    requestSerialize: json.serialize,
    requestDeserialize: json.deserialize,
    responseSerialize: json.serialize,
    responseDeserialize: json.deserialize,
  },
};

export function supervisorImplementation(supervisor: Supervisor): grpc.UntypedServiceImplementation {
  return {
    Pods: (_call: grpc.ServerUnaryCall<unknown, SupervisorAnswer>, callback: grpc.sendUnaryData<SupervisorAnswer>) => {
      supervisor.view().then((pods) => callback(null, { pods }), (err: unknown) => callback(toServiceError(err)));
    },
  };
}

/** The client side: every supervised pod, or an empty list from a daemon without the service. */
export function supervisedPods(socketPath: string): Promise<SupervisorAnswer> {
  const Client = grpc.makeGenericClientConstructor(supervisorService, 'Supervisor');
  const client = new Client(`unix:${socketPath}`, grpc.credentials.createInsecure());
  return new Promise<SupervisorAnswer>((resolve, reject) => {
    (client as unknown as {
      Pods(req: unknown, md: grpc.Metadata, opts: grpc.CallOptions, cb: (err: grpc.ServiceError | null, res?: SupervisorAnswer) => void): void;
    }).Pods({}, new grpc.Metadata(), { deadline: Date.now() + 30_000 }, (err, res) => {
      client.close();
      if (err) reject(err);
      else resolve(res ?? { pods: [] });
    });
  });
}
