import { isIPv4, isIPv6 } from 'node:net';
import { InvalidArgumentError } from '../errors.js';
import type { UpdateRuntimeConfigRequest, UpdateRuntimeConfigResponse } from './generated/cri-types.js';
import type { NodeInfo } from './node-info.js';

/**
 * UpdateRuntimeConfig: kubelet passes the node's pod CIDR. keelson's CNI config names its own
 * subnet (as containerd without a conf_template), so the CIDR is kept and reported in Status
 * (verbose `network`), not written into the network config. A bad CIDR changes nothing.
 */
export function updateRuntimeConfig(node: NodeInfo) {
  return async (req: UpdateRuntimeConfigRequest): Promise<UpdateRuntimeConfigResponse> => {
    const cidr = req.runtime_config?.network_config?.pod_cidr ?? '';
    // kubelet may send several, comma separated (dual stack).
    for (const part of cidr === '' ? [] : cidr.split(',')) checkCidr(part.trim());
    node.podCidr = cidr;
    return {};
  };
}

function checkCidr(cidr: string): void {
  const [address = '', bits, ...rest] = cidr.split('/');
  const max = isIPv4(address) ? 32 : isIPv6(address) ? 128 : -1;
  const n = Number(bits);
  if (max < 0 || rest.length > 0 || bits === undefined || !/^\d{1,3}$/.test(bits) || n > max) {
    throw new InvalidArgumentError(`runtime_config.network_config.pod_cidr ${JSON.stringify(cidr)} is not a CIDR (address/prefix)`);
  }
}
