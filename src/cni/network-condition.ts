import type { Config } from '../config/schema.js';
import type { Condition } from '../container/runtime-condition.js';
import { findNetworkConfig } from './network-config.js';

/** NetworkReady: a usable network config exists. kubelet keeps pods off the node until then. */
export async function networkCondition(config: Config): Promise<Condition> {
  const found = await findNetworkConfig(config.cni.conf_dir);
  if (found.config) return { ready: true, reason: '', message: '' };
  return {
    ready: false,
    reason: 'NetworkPluginNotReady',
    message: `network plugin is not ready: ${found.problems.join('; ')}`,
  };
}
