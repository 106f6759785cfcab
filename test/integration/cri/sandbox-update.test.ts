// UpdatePodSandboxResources through the daemon's socket: the pod cgroup takes the new limits
// (plus the overhead); bad input, unknown and stopped pods are refused and change nothing.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomInt } from 'node:crypto';
import { status as grpcStatus } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { grpcError } from '../../fixtures/grpc.js';
import { PodEnv } from '../../fixtures/pod-env.js';

let env: PodEnv;
const parent = `/keelson-it-${randomInt(1e9)}/resize`;

/** A limit file of the pod cgroup: v1's when the controller is on v1, else v2's. */
function limit(v1Controller: string, v1File: string, v2File: string): string {
  const mounts = readFileSync('/proc/self/mountinfo', 'utf8').split('\n');
  const v1 = mounts.find((l) => new RegExp(` - cgroup cgroup .*\\b${v1Controller}\\b`).test(l))?.split(' ')[4];
  if (v1) return readFileSync(join(v1, parent, v1File), 'utf8').trim();
  const v2 = mounts.find((l) => / - cgroup2 /.test(l))?.split(' ')[4] ?? '/sys/fs/cgroup';
  return readFileSync(join(v2, parent, v2File), 'utf8').trim();
}
const memory = (): string => limit('memory', 'memory.limit_in_bytes', 'memory.max');

beforeAll(async () => { env = await PodEnv.start(); });
afterAll(async () => { await env?.destroy(); });

describe('UpdatePodSandboxResources', () => {
  it('writes the new limits and overhead into the pod cgroup, field by field', async () => {
    const rt = env.daemon.client.runtime;
    const pod = await env.runPod({ linux: { cgroup_parent: parent, resources: { memory_limit_in_bytes: String(256 << 20) } } });
    try {
      expect(memory()).toBe(String(256 << 20));
      await rt.call('UpdatePodSandboxResources', {
        pod_sandbox_id: pod.id,
        resources: { memory_limit_in_bytes: String(96 << 20), cpu_quota: '50000', cpu_period: '100000' },
        overhead: { memory_limit_in_bytes: String(32 << 20) },
      });
      expect(memory()).toBe(String(128 << 20));
      const cpu = limit('cpu', 'cpu.cfs_quota_us', 'cpu.max');
      expect(cpu === '50000' || cpu === '50000 100000').toBe(true);

      // Out of range: refused, and the cgroup keeps what it had.
      const bad = await grpcError(rt.call('UpdatePodSandboxResources', { pod_sandbox_id: pod.id, resources: { cpu_period: '5' } }));
      expect(bad.code).toBe(grpcStatus.INVALID_ARGUMENT);
      expect(bad.details).toContain('cpu_period');
      expect(memory()).toBe(String(128 << 20));

      const unknown = await grpcError(rt.call('UpdatePodSandboxResources', { pod_sandbox_id: 'f'.repeat(64), resources: {} }));
      expect(unknown.code).toBe(grpcStatus.NOT_FOUND);

      await rt.call('StopPodSandbox', { pod_sandbox_id: pod.id });
      const stopped = await grpcError(rt.call('UpdatePodSandboxResources', { pod_sandbox_id: pod.id, resources: { memory_limit_in_bytes: String(64 << 20) } }));
      expect(stopped.code).toBe(grpcStatus.FAILED_PRECONDITION);
      expect(stopped.details).toContain('not ready');
    } finally {
      await env.removePod(pod.id);
    }
  });
});
