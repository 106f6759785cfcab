// Stats and metrics through the daemon's socket: ContainerStats with a CPU rate, memory, swap
// and pressure; PodSandboxStats listing its containers; ListMetricDescriptors and
// ListPodSandboxMetrics (and the Stream form) with cAdvisor's names and label keys.
import { existsSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Metric } from '../../../src/cri/generated/cri-types.js';
import { PodEnv } from '../../fixtures/pod-env.js';

let env: PodEnv;
let pod: Awaited<ReturnType<PodEnv['runPod']>>;
let busy = '';

/** Whether this kernel keeps pressure files in the v2 tree (alone or beside v1). */
function v2HasPressure(): boolean {
  const v2 = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').find((l) => / - cgroup2 /.test(l))?.split(' ')[4];
  return v2 !== undefined && existsSync(`${v2}/cpu.pressure`);
}

beforeAll(async () => {
  env = await PodEnv.start();
  pod = await env.runPod({ linux: { resources: { memory_limit_in_bytes: String(512 << 20) } } });
  // Burns CPU and holds ~8 MiB in a shell variable, so every counter has something to count.
  busy = await env.startContainer(pod, env.container('busy', ['sh', '-c', 'x=$(head -c 8000000 /dev/zero | tr "\\0" a); while :; do :; done'], {
    linux: { resources: { memory_limit_in_bytes: String(256 << 20) } },
  }));
  await new Promise((r) => setTimeout(r, 1500));
});

afterAll(async () => {
  if (pod) await env?.removePod(pod.id).catch(() => undefined);
  await env?.destroy();
});

const n = (v: { value?: string | null } | null | undefined): number => Number(v?.value ?? -1);

describe('container and pod stats', () => {
  it('ContainerStats has a CPU rate from the second sample on, memory with limit headroom, and pressure where the kernel has it', async () => {
    const rt = env.daemon.client.runtime;
    await rt.call('ContainerStats', { container_id: busy });
    await new Promise((r) => setTimeout(r, 500));
    const s = (await rt.call('ContainerStats', { container_id: busy })).stats;
    expect(n(s?.cpu?.usage_nano_cores)).toBeGreaterThan(100_000_000); // a busy loop: well above 0.1 core
    expect(n(s?.cpu?.usage_core_nano_seconds)).toBeGreaterThan(0);
    expect(n(s?.memory?.usage_bytes)).toBeGreaterThan(8_000_000);
    expect(n(s?.memory?.rss_bytes)).toBeGreaterThan(4_000_000);
    expect(n(s?.memory?.page_faults)).toBeGreaterThan(0);
    const available = n(s?.memory?.available_bytes);
    expect(available).toBeGreaterThan(0);
    expect(available + n(s?.memory?.working_set_bytes)).toBe(256 << 20);
    if (v2HasPressure()) {
      expect(Number(s?.cpu?.psi?.Some?.Total ?? -1)).toBeGreaterThanOrEqual(0);
      expect(s?.memory?.psi?.Some).toBeDefined();
      expect(s?.io?.psi?.Some).toBeDefined();
    } else {
      expect(s?.cpu?.psi).toBeFalsy();
    }
  });

  it('PodSandboxStats lists the pod\'s running containers', async () => {
    const s = (await env.daemon.client.runtime.call('PodSandboxStats', { pod_sandbox_id: pod.id })).stats;
    expect((s?.linux?.containers ?? []).map((c) => c.attributes?.id)).toEqual([busy]);
    expect(n(s?.linux?.memory?.available_bytes)).toBeGreaterThan(0);
    const listed = (await env.daemon.client.runtime.call('ListPodSandboxStats', { filter: { id: pod.id } })).stats ?? [];
    expect((listed[0]?.linux?.containers ?? []).map((c) => c.attributes?.id)).toEqual([busy]);
  });
});

describe('CRI metrics', () => {
  it('every metric of ListPodSandboxMetrics has a descriptor with as many label keys as it has values', async () => {
    const rt = env.daemon.client.runtime;
    const descriptors = new Map(((await rt.call('ListMetricDescriptors', {})).descriptors ?? []).map((d) => [d.name ?? '', d.label_keys ?? []]));
    expect(descriptors.get('container_cpu_usage_seconds_total')).toEqual(['id', 'name', 'image']);
    expect(descriptors.get('container_network_receive_bytes_total')).toEqual(['id', 'name', 'image', 'interface']);
    const pods = (await rt.call('ListPodSandboxMetrics', {})).pod_metrics ?? [];
    const mine = pods.find((p) => p.pod_sandbox_id === pod.id);
    expect(mine).toBeDefined();
    const all: Metric[] = [...(mine?.metrics ?? []), ...(mine?.container_metrics ?? []).flatMap((c) => c.metrics ?? [])];
    for (const m of all) expect((m.label_values ?? []).length, m.name ?? '').toBe(descriptors.get(m.name ?? '')?.length);

    const eth0 = (mine?.metrics ?? []).filter((m) => m.label_values?.[3] === 'eth0');
    expect(eth0.map((m) => m.name)).toContain('container_network_transmit_packets_total');
    const c = mine?.container_metrics?.find((x) => x.container_id === busy);
    const byName = (name: string): Metric | undefined => c?.metrics?.find((m) => m.name === name);
    expect(byName('container_memory_working_set_bytes')?.metric_type).toBe('GAUGE');
    expect(n(byName('container_memory_working_set_bytes')?.value)).toBeGreaterThan(4_000_000);
    expect(byName('container_cpu_usage_seconds_total')?.metric_type).toBe('COUNTER');
    expect(byName('container_cpu_usage_seconds_total')?.label_values).toEqual([busy, 'busy', expect.any(String)]);
    expect(n(byName('container_spec_memory_limit_bytes')?.value)).toBe(256 << 20);
    expect(n(byName('container_processes')?.value)).toBeGreaterThanOrEqual(1);
    if (v2HasPressure()) expect(byName('container_pressure_cpu_waiting_seconds_total')).toBeDefined();

    const streamed = (await rt.collect('StreamPodSandboxMetrics', {})).flatMap((m) => m.pod_sandbox_metrics ?? []);
    expect(streamed.map((p) => p.pod_sandbox_id).sort()).toEqual(pods.map((p) => p.pod_sandbox_id).sort());
  });
});
