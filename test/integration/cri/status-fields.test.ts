// Fields kubelet reads that were empty: PodSandboxStatus.containers_statuses, the pod's status
// and all its containers in each container event (evented PLEG), ImageFsInfo's container
// filesystem, and PullImage's runtime_handler.
import { status as grpcStatus } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ContainerEventResponse } from '../../../src/cri/generated/cri-types.js';
import { grpcError } from '../../fixtures/grpc.js';
import { PodEnv, waitFor } from '../../fixtures/pod-env.js';

let env: PodEnv;
let pod: Awaited<ReturnType<PodEnv['runPod']>>;

beforeAll(async () => {
  env = await PodEnv.start();
  pod = await env.runPod();
});
afterAll(async () => {
  if (pod) await env?.removePod(pod.id).catch(() => undefined);
  await env?.destroy();
});

describe('status fields', () => {
  it('PodSandboxStatus lists the statuses of all the pod\'s containers; events carry the pod and all its containers', async () => {
    const rt = env.daemon.client.runtime;
    const raw = rt.raw as unknown as { GetContainerEvents(req: object): NodeJS.EventEmitter & { cancel(): void } };
    const events: ContainerEventResponse[] = [];
    const stream = raw.GetContainerEvents({});
    stream.on('data', (e: ContainerEventResponse) => events.push(e));
    stream.on('error', () => undefined);
    await new Promise((r) => setTimeout(r, 200));

    const done = await env.startContainer(pod, env.container('done', ['true']));
    await waitFor('done to exit', async () => ((await rt.call('ContainerStatus', { container_id: done })).status?.state === 'CONTAINER_EXITED' ? true : undefined));
    const web = await env.startContainer(pod, env.container('web', ['sleep', '3600']));

    const status = await rt.call('PodSandboxStatus', { pod_sandbox_id: pod.id });
    const byId = new Map((status.containers_statuses ?? []).map((c) => [c.id, c]));
    expect([...byId.keys()].sort()).toEqual([done, web].sort());
    expect(byId.get(done)?.state).toBe('CONTAINER_EXITED');
    expect(byId.get(web)?.state).toBe('CONTAINER_RUNNING');

    await rt.call('StopContainer', { container_id: done, timeout: '0' });
    await rt.call('RemoveContainer', { container_id: done });
    const started = await waitFor('web started event', async () => events.find((e) => e.container_id === web && e.container_event_type === 'CONTAINER_STARTED_EVENT'));
    expect(started.pod_sandbox_status?.id).toBe(pod.id);
    expect(started.pod_sandbox_status?.state).toBe('SANDBOX_READY');
    expect((started.containers_statuses ?? []).map((c) => c.id).sort()).toEqual([done, web].sort());
    const deleted = await waitFor('done deleted event', async () => events.find((e) => e.container_id === done && e.container_event_type === 'CONTAINER_DELETED_EVENT'));
    expect((deleted.containers_statuses ?? []).map((c) => c.id)).toEqual([web]);
    const mine = events.filter((e) => e.container_id === web).map((e) => e.container_event_type);
    expect(mine).toEqual(['CONTAINER_CREATED_EVENT', 'CONTAINER_STARTED_EVENT']);
    stream.cancel();
  });

  it('ImageFsInfo reports the containers\' writable layers as the container filesystem', async () => {
    const im = env.daemon.client.image;
    const before = (await im.call('ImageFsInfo', {})).container_filesystems ?? [];
    expect(before).toHaveLength(1);
    expect(before[0]?.fs_id?.mountpoint).toMatch(/container-roots$/);
    const writer = await env.startContainer(pod, env.container('writer', ['sh', '-c', 'head -c 3000000 /dev/urandom > /big; sleep 3600']));
    await waitFor('the write', async () => ((await env.exec(writer, ['ls', '/big'])).code === 0 ? true : undefined));
    await new Promise((r) => setTimeout(r, 300));
    const after = (await im.call('ImageFsInfo', {})).container_filesystems ?? [];
    expect(Number(after[0]?.used_bytes?.value) - Number(before[0]?.used_bytes?.value)).toBeGreaterThanOrEqual(2_900_000);
    expect(Number(after[0]?.inodes_used?.value)).toBeGreaterThan(Number(before[0]?.inodes_used?.value));
  });

  it('PullImage refuses a runtime handler that is not configured and pulls for one that is', async () => {
    const im = env.daemon.client.image;
    const err = await grpcError(im.call('PullImage', { image: { image: env.image, runtime_handler: 'no-such-handler' } }));
    expect(err.code).toBe(grpcStatus.INVALID_ARGUMENT);
    expect(err.details).toContain('no-such-handler');
    const ok = await im.call('PullImage', { image: { image: env.image, runtime_handler: 'runc' } });
    expect(ok.image_ref).toMatch(/^sha256:/);
  });
});
