// The Stream* list RPCs through the daemon's socket: the same items as the unary List* RPC
// under the same filters, in batches of at most STREAM_BATCH, none twice, and the stream ends.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STREAM_BATCH } from '../../../src/cri/stream-lists.js';
import { PodEnv } from '../../fixtures/pod-env.js';

let env: PodEnv;
let pods: Array<{ id: string; config: Parameters<PodEnv['createContainer']>[0]['config'] }> = [];
const MANY = STREAM_BATCH + 7;

beforeAll(async () => {
  env = await PodEnv.start();
  const tag = `s${Date.now()}`;
  pods = [
    await env.runPod({ metadata: { name: 'stream-a', namespace: 'default', uid: `${tag}-a`, attempt: 0 }, labels: { tier: 'front' } }),
    await env.runPod({ metadata: { name: 'stream-b', namespace: 'default', uid: `${tag}-b`, attempt: 0 }, labels: { tier: 'back' } }),
  ];
  const [a, b] = pods as [typeof pods[0], typeof pods[0]];
  await env.startContainer(a, env.container('running', ['sleep', '3600'], { labels: { role: 'web' } }));
  // More containers than one message carries: created, never started, so they cost no process.
  for (let i = 0; i < MANY; i++) await env.createContainer(b, env.container(`c${i}`, ['true']));
}, 180_000);

afterAll(async () => {
  for (const p of pods) await env?.removePod(p.id).catch(() => undefined);
  await env?.destroy();
});

const ids = (items: Array<{ id?: string | null }>): string[] => items.map((i) => i.id ?? '').sort();

describe('Stream* list RPCs', () => {
  it('StreamContainers sends every container in batches, none twice, as ListContainers under each filter', async () => {
    const rt = env.daemon.client.runtime;
    const [a, b] = pods as [typeof pods[0], typeof pods[0]];
    const filters = [
      {}, { pod_sandbox_id: b.id }, { state: { state: 'CONTAINER_RUNNING' as const } },
      { label_selector: { role: 'web' } }, { pod_sandbox_id: a.id.slice(0, 8) },
    ];
    for (const filter of filters) {
      const messages = await rt.collect('StreamContainers', { filter });
      const streamed = messages.flatMap((m) => m.containers ?? []);
      const listed = (await rt.call('ListContainers', { filter })).containers ?? [];
      expect(ids(streamed)).toEqual(ids(listed));
      expect(new Set(ids(streamed)).size).toBe(streamed.length);
      for (const m of messages) expect((m.containers ?? []).length).toBeLessThanOrEqual(STREAM_BATCH);
    }
    const all = await rt.collect('StreamContainers', { filter: { pod_sandbox_id: b.id } });
    expect(all.length).toBe(2); // MANY > STREAM_BATCH: two messages
    expect(all.flatMap((m) => m.containers ?? []).length).toBe(MANY);
  });

  it('StreamPodSandboxes, StreamPodSandboxStats and StreamContainerStats match their List forms', async () => {
    const rt = env.daemon.client.runtime;
    for (const filter of [{}, { label_selector: { tier: 'front' } }, { id: pods[1]?.id ?? '' }]) {
      const streamed = (await rt.collect('StreamPodSandboxes', { filter })).flatMap((m) => m.pod_sandboxes ?? []);
      expect(ids(streamed)).toEqual(ids((await rt.call('ListPodSandbox', { filter })).items ?? []));
      const stats = (await rt.collect('StreamPodSandboxStats', { filter })).flatMap((m) => m.pod_sandbox_stats ?? []);
      const listedStats = (await rt.call('ListPodSandboxStats', { filter })).stats ?? [];
      expect(stats.map((s) => s.attributes?.id).sort()).toEqual(listedStats.map((s) => s.attributes?.id).sort());
    }
    const frontOnly = (await rt.collect('StreamPodSandboxes', { filter: { label_selector: { tier: 'front' } } })).flatMap((m) => m.pod_sandboxes ?? []);
    expect(frontOnly.map((p) => p.id)).toEqual([pods[0]?.id]);
    const cstats = (await rt.collect('StreamContainerStats', { filter: { pod_sandbox_id: pods[1]?.id ?? '' } })).flatMap((m) => m.container_stats ?? []);
    const listedC = (await rt.call('ListContainerStats', { filter: { pod_sandbox_id: pods[1]?.id ?? '' } })).stats ?? [];
    expect(cstats.map((s) => s.attributes?.id).sort()).toEqual(listedC.map((s) => s.attributes?.id).sort());
    expect(cstats.length).toBe(MANY);
  });

  it('StreamImages matches ListImages, with and without an image filter', async () => {
    const im = env.daemon.client.image;
    const streamed = (await im.collect('StreamImages', {})).flatMap((m) => m.images ?? []);
    expect(ids(streamed)).toEqual(ids((await im.call('ListImages', {})).images ?? []));
    expect(streamed.some((i) => (i.repo_tags ?? []).includes(env.image))).toBe(true);
    const one = (await im.collect('StreamImages', { filter: { image: { image: env.image } } })).flatMap((m) => m.images ?? []);
    expect(one.map((i) => i.repo_tags)).toEqual([[env.image]]);
    const none = await im.collect('StreamImages', { filter: { image: { image: 'no/such:image' } } });
    expect(none.flatMap((m) => m.images ?? [])).toEqual([]);
  });
});
