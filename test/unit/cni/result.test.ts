import { describe, expect, it } from 'vitest';
import { pluginStdin } from '../../../src/cni/network.js';
import { parseCniResult, podIpsOf } from '../../../src/cni/result.js';
import { compareCniVersions } from '../../../src/cni/version.js';

describe('CNI results', () => {
  it('accepts 1.0.0 and 0.4.0 results and finds the pod IPs, IPv4 first', () => {
    const r = parseCniResult({
      cniVersion: '1.0.0',
      interfaces: [{ name: 'br0' }, { name: 'veth1' }, { name: 'eth0', sandbox: '/run/netns/x' }],
      ips: [{ address: 'fd00::2/64', interface: 2 }, { address: '10.1.0.2/24', gateway: '10.1.0.1', interface: 2 }, { address: '10.9.9.9/24', interface: 0 }],
    });
    expect(podIpsOf(r)).toEqual(['10.1.0.2', 'fd00::2']);
    const old = parseCniResult({ cniVersion: '0.4.0', ips: [{ version: '4', address: '10.2.0.5/16' }] });
    expect(podIpsOf(old)).toEqual(['10.2.0.5']);
  });

  it('refuses garbage with the place of the problem', () => {
    expect(() => parseCniResult('nope')).toThrow('not a valid CNI result');
    expect(() => parseCniResult({ cniVersion: '1.0.0', ips: [{ address: 'not-an-ip/24' }] })).toThrow('ips[0].address');
    expect(() => parseCniResult({ cniVersion: '1.0.0', ips: [{ address: '10.0.0.1' }] })).toThrow('address/prefix');
    expect(() => parseCniResult({ cniVersion: '1.0.0', interfaces: [{}] })).toThrow('/interfaces/0');
    expect(() => parseCniResult({ cniVersion: '1.0.0', ips: Array.from({ length: 2000 }, () => ({ address: '10.0.0.1/8' })) })).toThrow();
  });

  it('gives each plugin only the runtimeConfig it declared, plus prevResult', () => {
    const config = { path: '', name: 'n', cniVersion: '1.0.0', pluginTypes: [], plugins: [], disableCheck: false, disableGC: false };
    const runtime = { portMappings: [{ hostPort: 80, containerPort: 8080, protocol: 'tcp' }], dns: { servers: ['1.1.1.1'] } };
    const stdin = pluginStdin(config, { type: 'portmap', capabilities: { portMappings: true } }, runtime, { cniVersion: '1.0.0' });
    expect(stdin).toEqual({
      type: 'portmap', capabilities: { portMappings: true }, cniVersion: '1.0.0', name: 'n',
      runtimeConfig: { portMappings: runtime.portMappings }, prevResult: { cniVersion: '1.0.0' },
    });
    expect(pluginStdin(config, { type: 'bridge', runtimeConfig: { injected: 1 } }, runtime, null)).toEqual({ type: 'bridge', cniVersion: '1.0.0', name: 'n' });
  });

  it('orders versions numerically', () => {
    expect(compareCniVersions('0.4.0', '1.0.0')).toBeLessThan(0);
    expect(compareCniVersions('1.1.0', '1.0.0')).toBeGreaterThan(0);
    expect(compareCniVersions('0.3.1', '0.3.1')).toBe(0);
  });
});
