import type { NodeInfo } from './node-info.js';
import type { RuntimeCondition, StatusRequest, StatusResponse } from './generated/cri-types.js';

export function status(node: NodeInfo) {
  return async (request: StatusRequest): Promise<StatusResponse> => {
    const runtime = node.runtimeCondition();
    const network = await node.networkCondition();
    const conditions: RuntimeCondition[] = [
      { type: 'RuntimeReady', status: runtime.ready, reason: runtime.reason, message: runtime.message },
      { type: 'NetworkReady', status: network.ready, reason: network.reason, message: network.message },
    ];
    const info: Record<string, string> = {};
    if (request.verbose) {
      info.config = JSON.stringify(node.config);
      info.cgroup = JSON.stringify({ driver: node.cgroupDriver, ...node.cgroupHost });
      info.network = JSON.stringify({ podCidr: node.podCidr });
    }
    return {
      status: { conditions },
      info,
      runtime_handlers: node.runtimeHandlers().map((name) => ({
        name,
        features: { recursive_read_only_mounts: false, user_namespaces: false },
      })),
      features: { supplemental_groups_policy: false, user_namespaces_host_network: false, mount_options: false },
    };
  };
}
