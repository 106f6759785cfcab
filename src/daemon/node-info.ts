import type { CgroupDriver, CgroupHost } from '../cgroup/detect.js';
import { networkCondition } from '../cni/network-condition.js';
import type { CniNetwork } from '../cni/network.js';
import type { Config } from '../config/schema.js';
import { availableHandlers, runtimeCondition, type Condition } from '../runtime/runtime-condition.js';

/** What the daemon knows about itself and this node, for Status and RuntimeConfig. */
export interface NodeInfo {
  config: Config;
  cgroupDriver: CgroupDriver;
  cgroupHost: CgroupHost;
  runtimeCondition(): Condition;
  networkCondition(): Promise<Condition>;
  runtimeHandlers(): string[];
}

export function nodeInfo(config: Config, cgroupDriver: CgroupDriver, cgroupHost: CgroupHost, network: CniNetwork): NodeInfo {
  return {
    config,
    cgroupDriver,
    cgroupHost,
    runtimeCondition: () => runtimeCondition(config),
    networkCondition: () => networkCondition(network),
    runtimeHandlers: () => availableHandlers(config),
  };
}
