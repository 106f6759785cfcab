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
        // runc 1.1 has no mount_setattr-based rro (mounts.ts refuses recursive_read_only); no userns.
        features: { recursive_read_only_mounts: false, user_namespaces: false },
      })),
      // Only what works and is tested: Strict/Merge supplemental groups are honoured
      // (container-security.test.ts); user namespaces and mount options are not built.
      features: { supplemental_groups_policy: true, user_namespaces_host_network: false, mount_options: false },
    };
  };
}
