// What the Status and RuntimeConfig handlers need to know about the daemon and this node;
// built by the daemon (src/daemon/node-info.ts).
import type { CgroupDriver, CgroupHost } from '../cgroup/detect.js';
import type { Config } from '../config/schema.js';
import type { Condition } from '../runtime/runtime-condition.js';

/** What the daemon knows about itself and this node, for Status and RuntimeConfig. */
export interface NodeInfo {
  config: Config;
  cgroupDriver: CgroupDriver;
  cgroupHost: CgroupHost;
  runtimeCondition(): Condition;
  networkCondition(): Promise<Condition>;
  runtimeHandlers(): string[];
  /** The node's pod CIDR as kubelet last gave it (UpdateRuntimeConfig); '' until then. */
  podCidr: string;
}
