import type { Condition } from '../runtime/runtime-condition.js';
import type { CniNetwork } from './network.js';

/**
 * NetworkReady: a usable network config exists, its plugins are installed and answer
 * STATUS (1.1.0). kubelet keeps pods off the node until then.
 */
export async function networkCondition(network: CniNetwork): Promise<Condition> {
  const status = await network.status();
  if (status.ready) return { ready: true, reason: '', message: '' };
  return { ready: false, reason: 'NetworkPluginNotReady', message: `network plugin is not ready: ${status.message}` };
}
