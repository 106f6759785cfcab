// Image volumes (Mount.image, KEP-4639) through the daemon's socket: an image's filesystem
// mounted read-only and noexec into a container, whole or at image_sub_path; bad requests
// refused with nothing left mounted; the layers outlive a removed image while mounted.
import { readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { status as grpcStatus } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildImage } from '../../fixtures/image-builder.js';
import { grpcError } from '../../fixtures/grpc.js';
import { PodEnv } from '../../fixtures/pod-env.js';

let env: PodEnv;
let pod: Awaited<ReturnType<PodEnv['runPod']>>;
let dataImage = '';
const sleeper = ['sleep', '3600'];

/** Image-volume mounts keelson has in this process's mount namespace. */
const imageVolumeMounts = (): string[] => readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((l) => l.includes('/image-volumes/'));

beforeAll(async () => {
  env = await PodEnv.start();
  // A data-only image in two layers, with a script that would run if noexec were missing
  // and a symlink leading out of the image.
  const built = await buildImage({
    base: false,
    layers: [
      [{ type: 'dir', path: 'models' }, { type: 'file', path: 'models/weights.bin', content: 'w1' }],
      [
        { type: 'file', path: 'models/config.json', content: '{"v":2}' },
        { type: 'file', path: 'run.sh', content: '#!/bin/sh\necho ran\n', mode: 0o755 },
        { type: 'symlink', path: 'escape', target: '/etc' },
      ],
    ],
  });
  const repo = `e2e/data-${randomBytes(3).toString('hex')}`;
  await env.registry.push(repo, built, 'v1');
  dataImage = `${env.registry.host}/${repo}:v1`;
  await env.daemon.client.image.call('PullImage', { image: { image: dataImage } });
  pod = await env.runPod();
});
afterAll(async () => {
  if (pod) await env?.removePod(pod.id).catch(() => undefined);
  await env?.destroy();
});

describe('image volumes', () => {
  it('mounts the image read-only and noexec, whole and at image_sub_path, and unmounts it with the container', async () => {
    const id = await env.startContainer(pod, env.container('reader', sleeper, {
      mounts: [
        { container_path: '/data', image: { image: dataImage } },
        { container_path: '/models', image: { image: dataImage }, image_sub_path: 'models' },
      ],
    }));
    expect((await env.exec(id, ['cat', '/data/models/weights.bin', '/data/models/config.json'])).out).toBe('w1{"v":2}');
    expect((await env.exec(id, ['ls', '/models'])).out.split('\n').filter(Boolean).sort()).toEqual(['config.json', 'weights.bin']);
    const write = await env.exec(id, ['sh', '-c', 'echo x > /data/new']);
    expect(write.code).not.toBe(0);
    expect(write.err).toContain('Read-only file system');
    const run = await env.exec(id, ['/data/run.sh']);
    expect(run.code).not.toBe(0);
    expect(run.err).toMatch(/permission denied/i);
    // The image can go while mounted: the container's lease keeps its layers.
    await env.daemon.client.image.call('RemoveImage', { image: { image: dataImage } });
    expect((await env.exec(id, ['cat', '/data/models/weights.bin'])).out).toBe('w1');
    expect(imageVolumeMounts().some((l) => l.includes(id))).toBe(true);
    await env.daemon.client.runtime.call('StopContainer', { container_id: id, timeout: '0' });
    await env.daemon.client.runtime.call('RemoveContainer', { container_id: id });
    expect(imageVolumeMounts().filter((l) => l.includes(id))).toEqual([]);
    await env.daemon.client.image.call('PullImage', { image: { image: dataImage } });
  });

  it('refuses a missing image, a sub path that climbs or leaves the image, and leaves nothing mounted', async () => {
    const before = imageVolumeMounts().length;
    const cases: Array<[Record<string, unknown>, number, string]> = [
      [{ image: { image: `${env.registry.host}/e2e/none:v1` } }, grpcStatus.NOT_FOUND, 'pull it first'],
      [{ image: { image: dataImage }, image_sub_path: '../etc' }, grpcStatus.INVALID_ARGUMENT, 'image_sub_path'],
      [{ image: { image: dataImage }, image_sub_path: '/models' }, grpcStatus.INVALID_ARGUMENT, 'image_sub_path'],
      [{ image: { image: dataImage }, image_sub_path: 'escape' }, grpcStatus.INVALID_ARGUMENT, 'does not exist inside image'],
      [{ image: { image: dataImage }, image_sub_path: 'no/such' }, grpcStatus.INVALID_ARGUMENT, 'does not exist inside image'],
    ];
    for (const [mount, code, text] of cases) {
      const err = await grpcError(env.createContainer(pod, env.container(`bad-${randomBytes(2).toString('hex')}`, sleeper, {
        mounts: [{ container_path: '/data', ...mount }],
      })));
      expect(err.code, JSON.stringify(mount)).toBe(code);
      expect(err.details).toContain(text);
    }
    expect(imageVolumeMounts().length).toBe(before);
    const listed = await env.daemon.client.runtime.call('ListContainers', { filter: { pod_sandbox_id: pod.id } });
    expect((listed.containers ?? []).filter((c) => c.metadata?.name?.startsWith('bad-'))).toEqual([]);
  });
});
