// The OCI runtime's record of a container goes when its exit is recorded, as containerd
// deletes a task when it exits: StopContainer answers once `runc delete` is done, a container
// that exits on its own is released without any RPC, the exit stays reported, and
// RemoveContainer runs no runc at all. A wrapper handler logs every runc subcommand.
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findExecutable } from '../../../src/runtime/find-executable.js';
import { PodEnv, waitFor } from '../../fixtures/pod-env.js';
import { podConfig } from '../../fixtures/sandbox.js';

let env: PodEnv;
const dir = mkdtempSync(join(tmpdir(), 'keelson-release-'));
const calls = join(dir, 'calls');
const wrapper = join(dir, 'logging-runc');

beforeAll(async () => {
  const runc = findExecutable('runc') as string;
  // "<subcommand> <last argument>" per call: the id is the last argument of kill/delete/state.
  writeFileSync(wrapper, `#!/bin/sh\nfor a in "$@"; do case "$a" in create|start|kill|delete|state|exec|update) sub=$a;; esac; done\nfor last; do :; done\necho "$sub $last" >> ${calls}\nexec ${runc} "$@"\n`);
  chmodSync(wrapper, 0o755);
  env = await PodEnv.start({}, { configToml: `[runtime.handlers.logged]\npath = "${wrapper}"\n` });
});

afterAll(async () => {
  await env?.destroy();
  rmSync(dir, { recursive: true, force: true });
});

const logged = (): string[] => (existsSync(calls) ? readFileSync(calls, 'utf8').trim().split('\n') : []);
const runcRecord = (id: string): string => join(env.daemon.state, 'runtimes', 'logged', id);

describe('the runtime record of an exited container', () => {
  it('is deleted by the time StopContainer answers; RemoveContainer then runs no runc', async () => {
    const rt = env.daemon.client.runtime;
    const config = podConfig({ log_directory: join(env.logRoot, 'stop') });
    const pod = { id: (await rt.call('RunPodSandbox', { config, runtime_handler: 'logged' })).pod_sandbox_id ?? '', config };
    const id = await env.startContainer(pod, env.container('stopped', ['sleep', '3600']));
    expect(existsSync(runcRecord(id))).toBe(true);
    await rt.call('StopContainer', { container_id: id, timeout: '0' });
    expect(existsSync(runcRecord(id))).toBe(false);
    expect(logged()).toContain(`delete ${id}`);
    const status = (await rt.call('ContainerStatus', { container_id: id })).status;
    expect(status?.state).toBe('CONTAINER_EXITED');
    expect(status?.exit_code).toBe(137);

    const before = logged().length;
    await rt.call('RemoveContainer', { container_id: id });
    expect(logged().slice(before).filter((l) => l.endsWith(id))).toEqual([]);
    expect((await rt.call('ListContainers', { filter: { id } })).containers ?? []).toEqual([]);
    await env.removePod(pod.id);
  });

  it('is deleted when a container exits on its own, with no RPC, and its exit code is kept', async () => {
    const rt = env.daemon.client.runtime;
    const config = podConfig({ log_directory: join(env.logRoot, 'self') });
    const pod = { id: (await rt.call('RunPodSandbox', { config, runtime_handler: 'logged' })).pod_sandbox_id ?? '', config };
    const id = await env.startContainer(pod, env.container('quits', ['sh', '-c', 'exit 3']));
    await waitFor('the runtime record to go', async () => (existsSync(runcRecord(id)) ? undefined : true));
    const status = (await rt.call('ContainerStatus', { container_id: id })).status;
    expect(status?.state).toBe('CONTAINER_EXITED');
    expect(status?.exit_code).toBe(3);
    expect(status?.reason).toBe('Error');
    await env.removePod(pod.id);
    expect(logged().filter((l) => l === `delete ${id}`)).toHaveLength(1);
  });
});
