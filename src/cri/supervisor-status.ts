// A keelson-only gRPC service beside CRI on the same socket: keelson.v1.Supervisor/Pods.
// `keelson pods` reads restarts and readiness of the pods the daemon's supervisor watches;
// CRI has no field for them.
import type * as grpc from '@grpc/grpc-js';
import type { PodView, Supervisor } from '../supervisor/supervisor.js';
import { callJsonService, jsonServiceDefinition, jsonServiceImplementation } from './json-service.js';

export interface SupervisorAnswer {
  pods: PodView[];
}

export const supervisorService = jsonServiceDefinition('keelson.v1.Supervisor', ['Pods']);

export function supervisorImplementation(supervisor: Supervisor): grpc.UntypedServiceImplementation {
  return jsonServiceImplementation({ Pods: async () => ({ pods: await supervisor.view() }) });
}

/** The client side: every supervised pod. */
export async function supervisedPods(socketPath: string): Promise<SupervisorAnswer> {
  return (await callJsonService<SupervisorAnswer | undefined>(socketPath, supervisorService, 'Pods', {})) ?? { pods: [] };
}
