// The client of keelson.v1.Supervisor (src/keelson-api/supervisor-status.ts): `keelson pods`, `inspect`.
import { supervisorService, type SupervisorAnswer } from '../keelson-api/definitions.js';
import { callJsonService } from './json-call.js';

export type { SupervisorAnswer } from '../keelson-api/definitions.js';

/** The client side: every supervised pod. */
export async function supervisedPods(socketPath: string): Promise<SupervisorAnswer> {
  return (await callJsonService<SupervisorAnswer | undefined>(socketPath, supervisorService, 'Pods', {})) ?? { pods: [] };
}
