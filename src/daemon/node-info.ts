import type { CgroupDriver, CgroupHost } from '../cgroup/detect.js';
import { networkCondition } from '../cni/network-condition.js';
import type { CniNetwork } from '../cni/network.js';
import type { Config } from '../config/schema.js';
import { availableHandlers, runtimeCondition } from '../runtime/runtime-condition.js';
import type { NodeInfo } from '../cri/node-info.js';

export function nodeInfo(config: Config, cgroupDriver: CgroupDriver, cgroupHost: CgroupHost, network: CniNetwork): NodeInfo {
  return {
    config,
    cgroupDriver,
    cgroupHost,
    runtimeCondition: () => runtimeCondition(config),
    networkCondition: () => networkCondition(network),
    runtimeHandlers: () => availableHandlers(config),
    podCidr: '',
  };
}
