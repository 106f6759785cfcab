// A pod's lock through the real daemon: CreateContainer racing StopPodSandbox and
// RemovePodSandbox. The runtime handler "slow" is runc behind a wrapper that marks a file
// and then holds `create` for a second; the test sends the stop once the mark is there, so
// the stop lands inside the create every time (no timing guess). Whatever
// order the pod's lock gives them, nothing may be left: no container record without a pod,
// no container of a removed pod.
import { chmodSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findExecutable } from '../../../src/runtime/find-executable.js';
import { PodEnv, waitFor } from '../../fixtures/pod-env.js';
import { podConfig as sandboxConfig } from '../../fixtures/sandbox.js';

let env: PodEnv;
const wrapperDir = mkdtempSync(join(tmpdir(), 'keelson-slow-runc-'));
const wrapper = join(wrapperDir, 'slow-runc');
const HOLD_SECONDS = 1;
const heldMark = join(wrapperDir, 'create-held');

beforeAll(async () => {
  const runc = findExecutable('runc') as string;
  writeFileSync(wrapper, `#!/bin/sh\nfor a in "$@"; do [ "$a" = create ] && touch ${heldMark} && sleep ${HOLD_SECONDS} && break; done\nexec ${runc} "$@"\n`);
  chmodSync(wrapper, 0o755);
  env = await PodEnv.start({}, { configToml: `[runtime.handlers.slow]\npath = "${wrapper}"\n` });
});

afterAll(async () => {
  await env?.destroy();
  rmSync(wrapperDir, { recursive: true, force: true });
});

describe('CreateContainer against a pod going away', () => {
  it.each(['StopPodSandbox', 'RemovePodSandbox'] as const)('%s during a CreateContainer leaves no container without its pod', async (rpc) => {
    const rt = env.daemon.client.runtime;
    const podConfig = sandboxConfig({
      metadata: { name: `race-${rpc.toLowerCase()}`, namespace: 'default', uid: `uid-${rpc}-${Date.now()}`, attempt: 0 },
      log_directory: join(env.logRoot, rpc),
    });
    const slow = await rt.call('RunPodSandbox', { config: podConfig, runtime_handler: 'slow' });
    const podId = slow.pod_sandbox_id ?? '';
    const slowPod = { id: podId, config: podConfig };

    rmSync(heldMark, { force: true }); // the pod's own infra may have been created through the wrapper
    const create = env.createContainer(slowPod, env.container('late', ['sleep', '3600']));
    await waitFor('runc create to be held', async () => (existsSync(heldMark) ? true : undefined));
    const stop = rt.call(rpc, { pod_sandbox_id: podId });
    const [created, stopped] = await Promise.allSettled([create, stop]);
    expect(stopped.status).toBe('fulfilled');

    const listed = await rt.call('ListContainers', { filter: { pod_sandbox_id: podId } });
    if (rpc === 'RemovePodSandbox') {
      expect(listed.containers ?? []).toEqual([]);
    } else {
      // Stopped: the container (if it was made) belongs to the stopped pod and is not running.
      for (const c of listed.containers ?? []) expect(c.state).not.toBe('CONTAINER_RUNNING');
      if (created.status === 'fulfilled') expect((listed.containers ?? []).map((c) => c.id)).toContain(created.value);
      await rt.call('RemovePodSandbox', { pod_sandbox_id: podId });
    }
    const all = await rt.call('ListContainers', {});
    expect((all.containers ?? []).filter((c) => c.pod_sandbox_id === podId)).toEqual([]);
    const pods = await rt.call('ListPodSandbox', {});
    expect((pods.items ?? []).map((p) => p.id)).not.toContain(podId);
    // Nor on disk: every container dir under the root belongs to a listed container.
    const listedIds = new Set((all.containers ?? []).map((c) => c.id));
    expect(readdirSync(join(env.daemon.root, 'containers')).filter((d) => !listedIds.has(d))).toEqual([]);
  });
});
