// keelson.v1.Supervisor/Pods, daemon side (definition in ./definitions.ts), a keelson-only gRPC
// service beside CRI on the same socket. `keelson pods` reads restarts and readiness of the pods
// the daemon's supervisor watches; CRI has no field for them.
import type * as grpc from '@grpc/grpc-js';
import type { Supervisor } from '../supervisor/supervisor.js';
import { jsonServiceImplementation } from './json-service.js';

export { supervisorService } from './definitions.js';

export function supervisorImplementation(supervisor: Supervisor): grpc.UntypedServiceImplementation {
  return jsonServiceImplementation({ Pods: async () => ({ pods: await supervisor.view() }) });
}
