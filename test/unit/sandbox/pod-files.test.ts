import { describe, expect, it } from 'vitest';
import { checkDnsConfig, checkHostname, hostsText, resolvConfText } from '../../../src/sandbox/pod-files.js';
import { bandwidthOf, checkSandboxSpec, type SandboxSpec } from '../../../src/sandbox/spec.js';

function spec(over: Partial<SandboxSpec> = {}): SandboxSpec {
  return {
    metadata: { name: 'web', namespace: 'default', uid: 'u1', attempt: 0 }, hostname: 'web', logDirectory: '',
    dns: null, portMappings: [], labels: {}, annotations: {}, cgroupParent: '',
    namespaces: { network: 'POD', pid: 'CONTAINER', ipc: 'POD' }, sysctls: {}, resources: {},
    securityContext: { runAsUser: null, runAsGroup: null, supplementalGroups: [], readonlyRootfs: false, privileged: false, seccomp: null, apparmor: null, selinux: null },
    runtimeHandler: '', ...over,
  };
}

describe('pod files and sandbox spec checks', () => {
  it('writes resolv.conf from the DNS config', async () => {
    expect(await resolvConfText({ servers: ['10.0.0.10'], searches: ['a.svc', 'svc'], options: ['ndots:5', 'edns0'] }))
      .toBe('search a.svc svc\nnameserver 10.0.0.10\noptions ndots:5 edns0\n');
    expect(await resolvConfText(null, '/nonexistent')).toBe('');
  });

  it('writes hosts with the pod IPs and hostname', () => {
    expect(hostsText('web', ['10.1.0.2'])).toContain('10.1.0.2\tweb\n');
  });

  it('refuses DNS entries and hostnames that could inject lines', () => {
    expect(() => checkDnsConfig({ servers: ['1.1.1.1\nnameserver 6.6.6.6'], searches: [], options: [] })).toThrow('servers');
    expect(() => checkDnsConfig({ servers: [], searches: ['a b'], options: [] })).toThrow('searches');
    expect(() => checkDnsConfig({ servers: [], searches: [], options: ['x\ny'] })).toThrow('options');
    expect(() => checkHostname('Bad_Host')).toThrow('hostname');
    expect(() => checkHostname('a'.repeat(64))).toThrow('hostname');
  });

  it('checks names, ports, namespaces and handlers before anything is made', () => {
    expect(() => checkSandboxSpec(spec(), ['runc'])).not.toThrow();
    expect(() => checkSandboxSpec(spec({ metadata: { name: 'a;b=c', namespace: 'd', uid: 'u', attempt: 0 } }), ['runc'])).toThrow('metadata.name');
    expect(() => checkSandboxSpec(spec({ portMappings: [{ protocol: 'TCP', containerPort: 0, hostPort: 80, hostIp: '' }] }), ['runc'])).toThrow('container_port');
    expect(() => checkSandboxSpec(spec({ portMappings: [{ protocol: 'TCP', containerPort: 80, hostPort: 65536, hostIp: '' }] }), ['runc'])).toThrow('host_port');
    expect(() => checkSandboxSpec(spec({ logDirectory: '/var/log/../../etc' }), ['runc'])).toThrow('log_directory');
    expect(() => checkSandboxSpec(spec({ namespaces: { network: 'POD', pid: 'POD', ipc: 'POD' } }), ['runc'])).toThrow('namespace_options.pid=POD');
    expect(() => checkSandboxSpec(spec({ runtimeHandler: 'kata' }), ['runc'])).toThrow('runtime_handler');
    expect(() => checkSandboxSpec(spec({ annotations: { 'kubernetes.io/ingress-bandwidth': 'lots' } }), ['runc'])).toThrow('ingress-bandwidth');
  });

  it('reads bandwidth annotations as bits per second', () => {
    expect(bandwidthOf({ 'kubernetes.io/egress-bandwidth': '10M' })).toEqual({ egressRate: 10_000_000, egressBurst: 2 ** 31 - 1 });
    expect(bandwidthOf({})).toBeUndefined();
  });
});
