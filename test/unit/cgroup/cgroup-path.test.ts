import { describe, expect, it } from 'vitest';
import { expandSlice, podCgroupPath } from '../../../src/cgroup/cgroup-path.js';
import { parseCgroupMounts } from '../../../src/cgroup/hierarchy.js';
import { sharesToWeight } from '../../../src/cgroup/pod-cgroup.js';
import { parseProcNetDev } from '../../../src/sandbox/netns-stats.js';

describe('cgroup paths and hierarchies', () => {
  it('expands systemd slice names the way systemd nests them', () => {
    expect(expandSlice('kubepods-besteffort-pod12.slice')).toBe('/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod12.slice');
    expect(expandSlice('-.slice')).toBe('/');
    expect(() => expandSlice('kubepods--x.slice')).toThrow('empty part');
    expect(() => expandSlice('/kubepods')).toThrow('slice name');
  });

  it('takes a cgroupfs parent as given, or keelson\'s own per sandbox, refusing traversal', () => {
    expect(podCgroupPath('cgroupfs', '/kubepods/pod1', 'abc')).toEqual({ path: '/kubepods/pod1', parentForContainers: '/kubepods/pod1' });
    expect(podCgroupPath('cgroupfs', '', 'abc').path).toBe('/keelson/abc');
    expect(podCgroupPath('systemd', 'kubepods-pod1.slice', 'abc')).toEqual({ path: '/kubepods.slice/kubepods-pod1.slice', parentForContainers: 'kubepods-pod1.slice' });
    expect(() => podCgroupPath('cgroupfs', '/a/../b', 'abc')).toThrow('not allowed');
    expect(() => podCgroupPath('cgroupfs', 'relative', 'abc')).toThrow('absolute');
  });

  it('finds v1, hybrid and v2 hierarchies from mountinfo', () => {
    const hybrid = [
      '31 30 0:28 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu',
      '32 30 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct',
      '39 30 0:36 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd',
      '40 30 0:37 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw',
      '41 30 0:38 /sub /mnt/bind rw - cgroup cgroup rw,memory',
    ].join('\n');
    const mounts = parseCgroupMounts(hybrid);
    expect(mounts.map((m) => [m.path, m.version, m.controllers.join(',')])).toEqual([
      ['/sys/fs/cgroup/cpu', 1, 'cpu'], ['/sys/fs/cgroup/cpu,cpuacct', 1, 'cpu,cpuacct'],
      ['/sys/fs/cgroup/systemd', 1, 'name=systemd'], ['/sys/fs/cgroup/unified', 2, ''],
    ]);
    expect(parseCgroupMounts('25 1 0:22 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw')).toEqual([{ path: '/sys/fs/cgroup', version: 2, controllers: [] }]);
  });

  it('converts shares to weight and parses /proc/net/dev', () => {
    expect(sharesToWeight(1024)).toBe(39);
    expect(sharesToWeight(2)).toBe(1);
    const dev = 'Inter-|   Receive\n face |bytes\n  eth0: 1500 10 2 3 0 0 0 0 900 8 1 4 0 0 0 0\n    lo: 1 1 0 0 0 0 0 0 1 1 0 0 0 0 0 0\n';
    expect(parseProcNetDev(dev)[0]).toEqual({
      name: 'eth0', rxBytes: 1500n, rxPackets: 10n, rxErrors: 2n, rxDropped: 3n, txBytes: 900n, txPackets: 8n, txErrors: 1n, txDropped: 4n,
    });
  });
});
