// Container security, resources, stats and events through the real daemon's CRI socket.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ContainerEventResponse } from '../../../src/cri/generated/cri-types.js';
import { PodEnv, waitFor } from '../../fixtures/pod-env.js';

let env: PodEnv;
let pod: Awaited<ReturnType<PodEnv['runPod']>>;

beforeAll(async () => {
  env = await PodEnv.start();
  pod = await env.runPod();
});

afterAll(async () => {
  await env?.destroy();
});

const sleeper = ['sleep', '3600'];

describe('container security and resources through the CRI socket', () => {
  it('runs as a non-root user with its image groups', async () => {
    const id = await env.startContainer(pod, env.container('user', sleeper, { linux: { security_context: { run_as_user: { value: '1000' } } } }));
    const r = await env.exec(id, ['id']);
    expect(r.out.trim()).toBe('uid=1000(user) gid=1000(user) groups=1000(user),2000(extra)');
  });

  it('supplemental_groups_policy Strict leaves out the image\'s groups; Merge (the default) keeps them; Status says so', async () => {
    const strict = await env.startContainer(pod, env.container('strict', sleeper, {
      linux: { security_context: { run_as_user: { value: '1000' }, supplemental_groups: ['3000'], supplemental_groups_policy: 'Strict' } },
    }));
    expect((await env.exec(strict, ['id', '-G'])).out.trim().split(' ').sort()).toEqual(['1000', '3000']);
    const merge = await env.startContainer(pod, env.container('merge', sleeper, {
      linux: { security_context: { run_as_user: { value: '1000' }, supplemental_groups: ['3000'], supplemental_groups_policy: 'Merge' } },
    }));
    expect((await env.exec(merge, ['id', '-G'])).out.trim().split(' ').sort()).toEqual(['1000', '2000', '3000']);
    const status = await env.daemon.client.runtime.call('ContainerStatus', { container_id: strict });
    expect(status.status?.user?.linux?.supplemental_groups?.map(Number).sort()).toEqual([1000, 3000]);
    const features = (await env.daemon.client.runtime.call('Status', {})).features;
    expect(features?.supplemental_groups_policy).toBe(true);
  });

  it('refuses writes on a read-only rootfs', async () => {
    const id = await env.startContainer(pod, env.container('ro', sleeper, { linux: { security_context: { readonly_rootfs: true } } }));
    const r = await env.exec(id, ['touch', '/newfile']);
    expect(r.code).not.toBe(0);
    expect(r.err).toContain('Read-only file system');
  });

  it('refuses chown as root once CAP_CHOWN is dropped', async () => {
    const withCap = await env.startContainer(pod, env.container('caps-default', sleeper));
    expect((await env.exec(withCap, ['sh', '-c', 'touch /tmp/f && chown 1000 /tmp/f'])).code).toBe(0);
    const id = await env.startContainer(pod, env.container('caps-dropped', sleeper, {
      linux: { security_context: { capabilities: { drop_capabilities: ['CHOWN'] } } },
    }));
    const r = await env.exec(id, ['sh', '-c', 'touch /tmp/f && chown 1000 /tmp/f']);
    expect(r.code).not.toBe(0);
    expect(r.err).toContain('Operation not permitted');
  });

  it('RuntimeDefault blocks unshare where Unconfined allows it, and opens mount to SYS_ADMIN', async () => {
    const security = (profile: 'RuntimeDefault' | 'Unconfined', add: string[] = []) => ({
      linux: { security_context: { capabilities: { add_capabilities: add }, seccomp: { profile_type: profile } } },
    });
    const confined = await env.startContainer(pod, env.container('seccomp-default', sleeper, security('RuntimeDefault')));
    const free = await env.startContainer(pod, env.container('seccomp-unconfined', sleeper, security('Unconfined')));
    const admin = await env.startContainer(pod, env.container('seccomp-admin', sleeper, security('RuntimeDefault', ['SYS_ADMIN'])));
    // A user namespace needs no capability, so only seccomp can refuse it.
    const userns = ['unshare', '-U', 'true'];
    expect((await env.exec(confined, userns)).code).not.toBe(0);
    expect((await env.exec(free, userns)).code).toBe(0);
    const mount = ['sh', '-c', 'mkdir -p /mnt/t && mount -t tmpfs none /mnt/t'];
    expect((await env.exec(confined, mount)).code).not.toBe(0);
    expect((await env.exec(admin, mount)).code).toBe(0);
  });

  it('ends a container over its memory limit as OOMKilled', async () => {
    const id = await env.startContainer(pod, env.container('oom', ['sh', '-c', 'head -c 200m /dev/zero | tail'], {
      linux: { resources: { memory_limit_in_bytes: String(32 * 1024 * 1024) } },
    }));
    const status = await waitFor('the OOM kill', async () => {
      const s = await env.daemon.client.runtime.call('ContainerStatus', { container_id: id });
      return s.status?.state === 'CONTAINER_EXITED' ? s.status : undefined;
    }, 30_000);
    expect(status.reason).toBe('OOMKilled');
    expect(status.exit_code).not.toBe(0);
  });

  it('reports non-zero cpu and memory for a busy container', async () => {
    const id = await env.startContainer(pod, env.container('busy', ['sh', '-c', 'while :; do :; done']));
    const stats = await waitFor('cpu usage', async () => {
      const s = await env.daemon.client.runtime.call('ContainerStats', { container_id: id });
      return Number(s.stats?.cpu?.usage_core_nano_seconds?.value ?? 0) > 0 ? s.stats : undefined;
    });
    expect(Number(stats?.memory?.working_set_bytes?.value ?? 0)).toBeGreaterThan(0);
    expect(stats?.attributes?.id).toBe(id);
    await env.daemon.client.runtime.call('StopContainer', { container_id: id, timeout: '0' });
  });

  it('streams created, started, stopped and deleted events in order', async () => {
    const raw = env.daemon.client.runtime.raw as unknown as {
      GetContainerEvents(req: object): NodeJS.EventEmitter & { cancel(): void };
    };
    const events: ContainerEventResponse[] = [];
    const stream = raw.GetContainerEvents({});
    stream.on('data', (e: ContainerEventResponse) => events.push(e));
    stream.on('error', () => undefined);
    await new Promise((r) => setTimeout(r, 200));
    const id = await env.startContainer(pod, env.container('events', sleeper));
    await env.daemon.client.runtime.call('StopContainer', { container_id: id, timeout: '0' });
    await env.daemon.client.runtime.call('RemoveContainer', { container_id: id });
    const mine = await waitFor('four events', async () => {
      const list = events.filter((e) => e.container_id === id);
      return list.length >= 4 ? list : undefined;
    });
    stream.cancel();
    expect(mine.map((e) => e.container_event_type)).toEqual([
      'CONTAINER_CREATED_EVENT', 'CONTAINER_STARTED_EVENT', 'CONTAINER_STOPPED_EVENT', 'CONTAINER_DELETED_EVENT',
    ]);
  });
});
