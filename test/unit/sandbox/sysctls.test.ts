import { describe, expect, it } from 'vitest';
import { checkSysctls, sysctlNamespace } from '../../../src/sandbox/sysctls.js';

const podNs = { hostNetwork: false, hostIpc: false };

describe('sysctl checks', () => {
  it('allows namespaced sysctls', () => {
    expect(() => checkSysctls({ 'net.ipv4.ip_forward': '1', 'kernel.shm_rmid_forced': '1', 'kernel.sem': '250 32000 32 128', 'fs.mqueue.msg_max': '20', 'net/ipv4/conf/eth0.1/forwarding': '1' }, podNs)).not.toThrow();
    expect(sysctlNamespace('kernel.msgmax')).toBe('ipc');
    expect(sysctlNamespace('kernel.hostname')).toBeNull();
  });

  it('refuses injected values (CVE-2022-0811), host sysctls and odd names', () => {
    expect(() => checkSysctls({ 'kernel.shm_rmid_forced': '1+kernel.core_pattern=|/x' }, podNs)).toThrow('not allowed');
    expect(() => checkSysctls({ 'net.ipv4.ip_forward': '1\nkernel.x=1' }, podNs)).toThrow('not allowed');
    expect(() => checkSysctls({ 'kernel.core_pattern': '/x' }, podNs)).toThrow('not namespaced');
    expect(() => checkSysctls({ 'net..x': '1' }, podNs)).toThrow('not a sysctl name');
    expect(() => checkSysctls({ 'net.ipv4.a b': '1' }, podNs)).toThrow('not a sysctl name');
    expect(() => checkSysctls({ 'net.ipv4.ip_forward': '1' }, { hostNetwork: true, hostIpc: false })).toThrow('host network');
    expect(() => checkSysctls({ 'kernel.shmmax': '1' }, { hostNetwork: false, hostIpc: true })).toThrow('host IPC');
  });
});
