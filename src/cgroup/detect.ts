import { existsSync } from 'node:fs';
import { ConfigError } from '../errors.js';
import type { CgroupDriverSetting } from '../config/schema.js';

export type CgroupDriver = 'cgroupfs' | 'systemd';
/** v1 with the unified hierarchy mounted beside it is "hybrid". */
export type CgroupLayout = 'v1' | 'hybrid' | 'v2';

export interface CgroupHost {
  /** True when systemd is PID 1 (it creates /run/systemd/system at boot). */
  systemdRunning: boolean;
  layout: CgroupLayout;
}

export function probeCgroupHost(fsRoot = ''): CgroupHost {
  const has = (p: string): boolean => existsSync(fsRoot + p);
  let layout: CgroupLayout = 'v1';
  if (has('/sys/fs/cgroup/cgroup.controllers')) layout = 'v2';
  else if (has('/sys/fs/cgroup/unified/cgroup.controllers')) layout = 'hybrid';
  return { systemdRunning: has('/run/systemd/system'), layout };
}

/**
 * The driver actually in use: "auto" follows the host (systemd when it manages the machine,
 * as kubelet's own default expects); asking for systemd on a host without it is an error.
 */
export function chooseCgroupDriver(setting: CgroupDriverSetting, host: CgroupHost): CgroupDriver {
  if (setting === 'auto') return host.systemdRunning ? 'systemd' : 'cgroupfs';
  if (setting === 'systemd' && !host.systemdRunning) {
    throw new ConfigError('config: key "cgroup_driver" is "systemd" but systemd is not running on this host');
  }
  return setting;
}
