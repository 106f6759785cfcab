import { describe, expect, it } from 'vitest';
import { toContainerRequest, toCriStatus, toResourceRequest } from '../../../src/cri/container-convert.js';

describe('CRI container config -> service request', () => {
  it('maps the fields and names what is missing', () => {
    expect(() => toContainerRequest(null)).toThrow(/config is required/);
    expect(() => toContainerRequest({ image: { image: 'i' } })).toThrow(/metadata.name/);
    expect(() => toContainerRequest({ metadata: { name: 'c' } })).toThrow(/image.image/);
    const r = toContainerRequest({
      metadata: { name: 'c', attempt: 2 }, image: { image: 'busybox' }, envs: [{ key: 'A', value: Buffer.from('b') }],
      stop_signal: 'SIGNAL_SIGUSR1',
      linux: {
        resources: { memory_limit_in_bytes: '1048576', cpu_shares: '2' },
        security_context: {
          run_as_user: { value: '1000' }, supplemental_groups: ['5'], namespace_options: { pid: 'POD' },
          seccomp: { profile_type: 'Unconfined' }, capabilities: { drop_capabilities: ['ALL'] },
        },
      },
    });
    expect(r).toMatchObject({ name: 'c', attempt: 2, image: 'busybox', envs: [{ key: 'A', value: 'b' }], stopSignal: 'SIGUSR1',
      resources: { memoryLimit: 1048576, cpuShares: 2 },
      security: { runAsUser: 1000, supplementalGroups: [5], pidMode: 'pod', seccomp: { type: 'Unconfined' }, capabilities: { drop: ['ALL'] } } });
  });
  it('understands the deprecated profile strings and refuses unknown ones', () => {
    const sc = (s: object) => toContainerRequest({ metadata: { name: 'c' }, image: { image: 'i' }, linux: { security_context: s } }).security.seccomp;
    expect(sc({ seccomp_profile_path: 'runtime/default' })).toEqual({ type: 'RuntimeDefault' });
    expect(sc({ seccomp_profile_path: 'unconfined' })).toEqual({ type: 'Unconfined' });
    expect(sc({ seccomp_profile_path: 'localhost/etc/p.json' })).toEqual({ type: 'Localhost', localhostRef: 'etc/p.json' });
    expect(() => sc({ seccomp_profile_path: 'weird' })).toThrow(/unknown profile/);
    expect(() => sc({ seccomp: { profile_type: 'Localhost' } })).toThrow(/localhost_ref/);
    // Neither a profile nor the string: unconfined, as the CRI says (containerd, CRI-O).
    expect(sc({})).toEqual({ type: 'Unconfined' });
    expect(sc({ seccomp_profile_path: '' })).toEqual({ type: 'Unconfined' });
    expect(sc({ seccomp: { profile_type: 'RuntimeDefault' } })).toEqual({ type: 'RuntimeDefault' });
  });
  it('refuses run_as_group without run_as_user or run_as_username', () => {
    const req = (s: object) => toContainerRequest({ metadata: { name: 'c' }, image: { image: 'i' }, linux: { security_context: s } });
    expect(() => req({ run_as_group: { value: '5' } })).toThrow(/run_as_group is set without run_as_user or run_as_username/);
    expect(req({ run_as_group: { value: '5' }, run_as_user: { value: '7' } }).security.runAsGroup).toBe(5);
    expect(req({ run_as_group: { value: '5' }, run_as_username: 'user' }).security.runAsGroup).toBe(5);
  });
  it('refuses integers that are not', () => {
    expect(() => toResourceRequest({ memory_limit_in_bytes: '12abc' })).toThrow(/memory_limit_in_bytes/);
    expect(toResourceRequest({ cpu_quota: '' })).toMatchObject({ cpuQuota: undefined });
  });
});

describe('service record -> CRI status', () => {
  it('gives int64 nanoseconds as integer strings and a known stop signal', () => {
    const request = toContainerRequest({ metadata: { name: 'c' }, image: { image: 'i' } });
    const status = toCriStatus({
      id: 'x', sandboxId: 's', name: 'c', attempt: 0, imageRef: 'i', imageId: 'sha256:1', state: 'exited',
      createdAt: '1700000000000000000', startedAt: '0', finishedAt: '1800000000000000000', exitCode: 137, reason: 'OOMKilled', message: 'm', pid: 1,
      labels: {}, annotations: {}, logPath: '/l', runtimeHandler: 'runc', stopSignal: 'SIGTERM', request, uid: 0, gid: 0,
      additionalGids: [0, 10], cgroupsPath: '/c',
    });
    expect(status).toMatchObject({ state: 'CONTAINER_EXITED', created_at: '1700000000000000000', finished_at: '1800000000000000000',
      exit_code: 137, reason: 'OOMKilled', stop_signal: 'SIGNAL_SIGTERM', user: { linux: { supplemental_groups: ['0', '10'] } } });
  });
});
