// The container RPCs through a real gRPC server on a unix socket, over the in-process
// container service with the fixture providers (the daemon wires them once the image and
// sandbox services exist).
import type * as grpc from '@grpc/grpc-js';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectCri, type CriClient } from '../../../src/client/cri.js';
import { containerHandlers } from '../../../src/cri/container-handlers.js';
import type { ContainerEventResponse } from '../../../src/cri/generated/cri-types.js';
import { CriServer } from '../../../src/cri/server.js';
import type { SandboxView } from '../../../src/container/dependencies.js';
import { startServiceHarness, type ServiceHarness } from '../../fixtures/container-service.js';
import { waitFor } from '../../fixtures/container-run.js';

let h: ServiceHarness;
let server: CriServer;
let client: CriClient;
let pod: SandboxView;

beforeAll(async () => {
  h = await startServiceHarness();
  await h.images.addImage('busybox:latest');
  pod = await h.pods.createPod();
  const handlers = containerHandlers(h.service);
  const socketPath = join(h.base, 'cri.sock');
  server = new CriServer({ socketPath, runtime: handlers.runtime, runtimeStreams: handlers.runtimeStreams, image: {}, log: pino({ level: 'silent' }) });
  await server.listen();
  client = connectCri(socketPath);
});
afterAll(async () => {
  client?.close();
  await server?.close(100);
  await h?.destroy();
});

describe('container RPCs', () => {
  it('drive a whole lifecycle, with events streamed in order', async () => {
    const events: ContainerEventResponse[] = [];
    const stream = (client.runtime.raw as unknown as Record<string, (req: object) => grpc.ClientReadableStream<ContainerEventResponse>>)
      .GetContainerEvents?.call(client.runtime.raw, {}) as grpc.ClientReadableStream<ContainerEventResponse>;
    stream.on('data', (e: ContainerEventResponse) => events.push(e));
    stream.on('error', () => undefined);
    await new Promise((r) => setTimeout(r, 100));

    const { container_id: id } = await client.runtime.call('CreateContainer', {
      pod_sandbox_id: pod.id,
      config: {
        metadata: { name: 'web', attempt: 1 }, image: { image: 'busybox:latest' }, command: ['sleep', '1000'], log_path: 'web.log',
        envs: [{ key: 'GREETING', value: Buffer.from('hi') }], labels: { tier: 'front' },
        linux: { security_context: { run_as_user: { value: '1000' }, capabilities: { drop_capabilities: ['ALL'] } } },
      },
    });
    expect(id).toMatch(/^[0-9a-f]{64}$/);
    await client.runtime.call('StartContainer', { container_id: id });
    const status = await client.runtime.call('ContainerStatus', { container_id: id, verbose: true });
    expect(status.status).toMatchObject({ state: 'CONTAINER_RUNNING', metadata: { name: 'web', attempt: 1 }, image_ref: 'busybox:latest' });
    expect(status.status?.user?.linux?.uid).toBe('1000');
    expect(JSON.parse(status.info?.info ?? '{}').pid).toBeGreaterThan(0);

    const exec = await client.runtime.call('ExecSync', { container_id: id, cmd: ['sh', '-c', 'echo $GREETING; id -u; exit 4'], timeout: '5' });
    expect(exec.stdout?.toString()).toBe('hi\n1000\n');
    expect(exec.exit_code).toBe(4);

    const list = await client.runtime.call('ListContainers', { filter: { label_selector: { tier: 'front' }, state: { state: 'CONTAINER_RUNNING' } } });
    expect(list.containers?.map((c) => c.id)).toEqual([id]);
    const stats = await client.runtime.call('ContainerStats', { container_id: id });
    expect(Number(stats.stats?.memory?.working_set_bytes?.value)).toBeGreaterThan(0);

    await client.runtime.call('StopContainer', { container_id: id, timeout: '0' });
    const stopped = await client.runtime.call('ContainerStatus', { container_id: id });
    expect(stopped.status).toMatchObject({ state: 'CONTAINER_EXITED', exit_code: 137, reason: 'Error' });
    await client.runtime.call('StopContainer', { container_id: id, timeout: '0' });
    await client.runtime.call('RemoveContainer', { container_id: id });
    await client.runtime.call('RemoveContainer', { container_id: id });
    // Stop of a removed (unknown) container is NotFound, as containerd answers; Remove stays idempotent.
    await expect(client.runtime.call('StopContainer', { container_id: id, timeout: '0' })).rejects.toMatchObject({ code: 5 });

    await waitFor(async () => events.length >= 4);
    stream.cancel();
    expect(events.map((e) => e.container_event_type)).toEqual([
      'CONTAINER_CREATED_EVENT', 'CONTAINER_STARTED_EVENT', 'CONTAINER_STOPPED_EVENT', 'CONTAINER_DELETED_EVENT',
    ]);
    expect(events.every((e) => e.container_id === id)).toBe(true);
  });

  it('answer bad input with the right codes', async () => {
    await expect(client.runtime.call('ContainerStatus', { container_id: 'f00' })).rejects.toMatchObject({ code: 5 });
    await expect(client.runtime.call('CreateContainer', { pod_sandbox_id: pod.id, config: { metadata: { name: 'x' } } }))
      .rejects.toMatchObject({ code: 3, details: expect.stringMatching(/config.image.image/) });
    await expect(client.runtime.call('CreateContainer', { pod_sandbox_id: 'nope', config: { metadata: { name: 'x' }, image: { image: 'busybox:latest' } } }))
      .rejects.toMatchObject({ code: 5 });
    await expect(client.runtime.call('CreateContainer', {
      pod_sandbox_id: pod.id,
      config: { metadata: { name: 'x' }, image: { image: 'busybox:latest' }, linux: { security_context: { run_as_user: { value: '2147483648' } } } },
    })).rejects.toMatchObject({ code: 3 });
    expect((await client.runtime.call('ListContainers', {})).containers ?? []).toEqual([]);
  });
});
