import type { CgroupDriver, CgroupHost } from '../cgroup/detect.js';
import { networkCondition } from '../cni/network-condition.js';
import type { CniNetwork } from '../cni/network.js';
import type { Config } from '../config/schema.js';
import type { RuntimeRegistry } from '../runtime/registry.js';
import { runtimeCondition } from '../runtime/runtime-condition.js';
import type { NodeInfo } from '../cri/node-info.js';

/** What Status reports; the handlers are the registry's (those whose binary was found at start). */
export function nodeInfo(config: Config, cgroupDriver: CgroupDriver, cgroupHost: CgroupHost, network: CniNetwork, runtimes: RuntimeRegistry): NodeInfo {
  return {
    config,
    cgroupDriver,
    cgroupHost,
    runtimeCondition: () => runtimeCondition(config),
    networkCondition: () => networkCondition(network),
    runtimeHandlers: () => runtimes.names(),
    podCidr: '',
  };
}
