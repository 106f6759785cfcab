import type { NodeInfo } from './node-info.js';
import type { RuntimeConfigResponse } from './generated/cri-types.js';

/** kubelet compares this with its own cgroupDriver setting and refuses to start on a mismatch. */
export function runtimeConfig(node: NodeInfo) {
  return async (): Promise<RuntimeConfigResponse> => ({
    linux: { cgroup_driver: node.cgroupDriver === 'systemd' ? 'SYSTEMD' : 'CGROUPFS' },
  });
}
