// The daemon killed (SIGKILL) inside StartContainer right after `runc start` took effect: the
// runtime handler "hold" is runc behind a wrapper that, after a real `runc start`, writes its
// pid to a marker file and waits, so the kill lands at that exact step. After a restart the
// container must be listed as running, answer exec, stop when told, and a retried
// StartContainer must succeed without marking it exited.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findExecutable } from '../../../src/runtime/find-executable.js';
import { startKeelson } from '../../fixtures/daemon.js';
import { PodEnv } from '../../fixtures/pod-env.js';
import { waitForPidFile } from '../../fixtures/wait.js';
import { leftovers, tmpScratch } from '../../fixtures/nothing-left.js';
import { podConfig } from '../../fixtures/sandbox.js';

let env: PodEnv;
const dir = mkdtempSync(join(tmpdir(), 'keelson-hold-runc-'));
const marker = join(dir, 'started');
const wrapper = join(dir, 'hold-runc');
let configToml = '';
let tmpBefore: string[] = [];

beforeAll(async () => {
  tmpBefore = tmpScratch();
  const runc = findExecutable('runc') as string;
  writeFileSync(wrapper, [
    '#!/bin/sh',
    'for a in "$@"; do',
    `  if [ "$a" = start ]; then ${runc} "$@" || exit $?; echo $$ > ${marker}; sleep 60; exit 0; fi`,
    'done',
    `exec ${runc} "$@"`,
    '',
  ].join('\n'));
  chmodSync(wrapper, 0o755);
  configToml = `[runtime.handlers.hold]\npath = "${wrapper}"\n`;
  env = await PodEnv.start({}, { configToml });
});

afterAll(async () => {
  await env?.destroy();
  rmSync(dir, { recursive: true, force: true });
});

describe('kill -9 inside StartContainer after runc start', () => {
  it('finds the container running after a restart; a retried start changes nothing and Stop really stops it', async () => {
    const rt = () => env.daemon.client.runtime;
    const config = podConfig({ log_directory: join(env.logRoot, 'hold') });
    const podId = (await rt().call('RunPodSandbox', { config, runtime_handler: 'hold' })).pod_sandbox_id ?? '';
    const pod = { id: podId, config };
    const id = await env.createContainer(pod, env.container('held', ['sleep', '3600']));
    const start = rt().call('StartContainer', { container_id: id }).catch((e: unknown) => e);
    const held = await waitForPidFile(marker, 'runc start to have taken effect');
    await env.daemon.kill();
    process.kill(held, 'SIGKILL'); // the wrapper, by its pid
    expect(await start).toBeInstanceOf(Error);

    env.daemon = await startKeelson({ base: env.daemon.base, configToml });
    const status = await rt().call('ContainerStatus', { container_id: id });
    expect(status.status?.state).toBe('CONTAINER_RUNNING');
    expect(await env.exec(id, ['echo', 'alive'])).toMatchObject({ code: 0, out: 'alive\n' });
    // The restart recorded it running, so a retry is refused as containerd refuses a start of
    // a started container (FailedPrecondition), and changes nothing: no StartError, still running.
    await expect(rt().call('StartContainer', { container_id: id })).rejects.toMatchObject({ code: 9 });
    const verbose = await rt().call('ContainerStatus', { container_id: id, verbose: true });
    expect(verbose.status?.state).toBe('CONTAINER_RUNNING');
    const pid = (JSON.parse(verbose.info?.info ?? '{}') as { pid?: number }).pid ?? 0;
    expect(pid).toBeGreaterThan(0);
    expect(existsSync(`/proc/${pid}`)).toBe(true);
    await rt().call('StopContainer', { container_id: id, timeout: '0' });
    expect((await rt().call('ContainerStatus', { container_id: id })).status?.state).toBe('CONTAINER_EXITED');
    // Really stopped: the process is gone (or a zombie about to be reaped by its monitor).
    const gone = (): boolean => { try { return / Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\)/, ')')); } catch { return true; } };
    expect(gone()).toBe(true);
    await rt().call('StopPodSandbox', { pod_sandbox_id: podId });
    await rt().call('RemovePodSandbox', { pod_sandbox_id: podId });
    expect((await rt().call('ListContainers', {})).containers ?? []).toEqual([]);
    expect(await leftovers(env, { pods: [podId], tmpBefore, commands: ['sleep 3600'] })).toEqual([]);
  });

  it('a start whose runc start already happened answers success', async () => {
    // The same wrapper, but the daemon survives: runc start is run twice (once by hand).
    const rt = env.daemon.client.runtime;
    rmSync(marker, { force: true });
    const config = podConfig({ log_directory: join(env.logRoot, 'twice') });
    const podId = (await rt.call('RunPodSandbox', { config })).pod_sandbox_id ?? '';
    const id = await env.createContainer({ id: podId, config }, env.container('twice', ['sleep', '3600']));
    const runc = findExecutable('runc') as string;
    const { execFileSync } = await import('node:child_process');
    execFileSync(runc, ['--root', join(env.daemon.state, 'runtimes', 'runc'), 'start', id]);
    await rt.call('StartContainer', { container_id: id });
    expect((await rt.call('ContainerStatus', { container_id: id })).status?.state).toBe('CONTAINER_RUNNING');
    await rt.call('StopPodSandbox', { pod_sandbox_id: podId });
    await rt.call('RemovePodSandbox', { pod_sandbox_id: podId });
    expect(await leftovers(env, { pods: [podId], tmpBefore })).toEqual([]);
  });
});
