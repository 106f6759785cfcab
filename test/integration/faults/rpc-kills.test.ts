// The daemon killed (SIGKILL) inside each container RPC at the step that matters: the runtime
// handler's runc is a wrapper that, for one subcommand, writes its pid to a marker file and
// waits (before or after running the real runc), so the kill lands exactly there. After a
// restart every listed container is real, every real container is listed, and once the pod
// is removed nothing is left: no bundle, rootfs, runc state, mount, or scratch file.
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findExecutable } from '../../../src/runtime/find-executable.js';
import { killProcessTree } from '../../../src/runtime/process-tree.js';
import { startKeelson } from '../../fixtures/daemon.js';
import { PodEnv, waitFor } from '../../fixtures/pod-env.js';
import { mountsUnder, podConfig } from '../../fixtures/sandbox.js';

type Step = { name: string; subcommand: string; when: 'before' | 'after' };
const STEPS: Step[] = [
  { name: 'CreateContainer, inside runc create', subcommand: 'create', when: 'before' },
  { name: 'CreateContainer, after runc create', subcommand: 'create', when: 'after' },
  { name: 'StopContainer, after runc kill', subcommand: 'kill', when: 'after' },
  { name: 'RemoveContainer, after runc delete', subcommand: 'delete', when: 'after' },
  { name: 'ExecSync, inside runc exec', subcommand: 'exec', when: 'before' },
];

let env: PodEnv;
const dir = mkdtempSync(join(tmpdir(), 'keelson-rpc-kills-'));
const marker = join(dir, 'held');
let configToml = '';
const runc = findExecutable('runc') as string;

/** The wrapper holds only while its arm file exists: start-up sweeps call runc too. */
const armFile = (i: number): string => join(dir, `arm-${i}`);

function wrapper(step: Step, i: number): string {
  const path = join(dir, `hold-${step.subcommand}-${step.when}`);
  const hold = `rm -f ${armFile(i)}; echo $$ > ${marker}; sleep 60`;
  writeFileSync(path, [
    '#!/bin/sh',
    'for a in "$@"; do',
    `  if [ "$a" = ${step.subcommand} ] && [ -e ${armFile(i)} ]; then`,
    step.when === 'before' ? `    ${hold}; exec ${runc} "$@"` : `    ${runc} "$@"; rc=$?; ${hold}; exit $rc`,
    '  fi',
    'done',
    `exec ${runc} "$@"`,
    '',
  ].join('\n'));
  chmodSync(path, 0o755);
  return path;
}

beforeAll(async () => {
  configToml = STEPS.map((s, i) => `[runtime.handlers.hold${i}]\npath = "${wrapper(s, i)}"\n`).join('');
  env = await PodEnv.start({}, { configToml });
});

afterAll(async () => {
  await env?.destroy();
  rmSync(dir, { recursive: true, force: true });
});

/** Container ids keelson lists against those that have a bundle on disk or a runc state dir. */
function realContainers(handler: string): { bundles: string[]; runcStates: string[] } {
  const bundles = existsSync(join(env.daemon.root, 'containers')) ? readdirSync(join(env.daemon.root, 'containers')) : [];
  const runcRoot = join(env.daemon.state, 'runtimes', handler);
  const runcStates = existsSync(runcRoot) ? readdirSync(runcRoot).filter((n) => /^[0-9a-f]{64}$/.test(n)) : [];
  return { bundles, runcStates };
}

describe('SIGKILL inside a container RPC', () => {
  it.each(STEPS.map((s, i) => [s.name, s, i] as const))('%s: after a restart, listed = real, and removal leaves nothing', async (_name, step, i) => {
    const handler = `hold${i}`;
    rmSync(marker, { force: true });
    const rt = () => env.daemon.client.runtime;
    const config = podConfig({ log_directory: join(env.logRoot, handler) });
    const podId = (await rt().call('RunPodSandbox', { config, runtime_handler: handler })).pod_sandbox_id ?? '';
    const pod = { id: podId, config };
    const victim = ['sleep', String(7301 + i)]; // a command line no other test runs

    let call: Promise<unknown>;
    const arm = (): void => writeFileSync(armFile(i), '');
    if (step.subcommand === 'create') {
      arm();
      call = env.createContainer(pod, env.container('victim', victim));
    } else {
      const id = await env.startContainer(pod, env.container('victim', victim));
      arm();
      if (step.subcommand === 'kill') call = rt().call('StopContainer', { container_id: id, timeout: '0' });
      else if (step.subcommand === 'exec') call = rt().call('ExecSync', { container_id: id, cmd: ['echo', 'hi'], timeout: '0' });
      else {
        await rt().call('StopContainer', { container_id: id, timeout: '0' });
        call = rt().call('RemoveContainer', { container_id: id });
      }
    }
    const outcome = call.catch((e: unknown) => e);
    await waitFor(`the ${step.subcommand} step to be held`, async () => (existsSync(marker) ? true : undefined));
    await env.daemon.kill();
    try {
      // The held wrapper and its sleep, by pid (an orphaned sleep would hold conmon's pipe open).
      killProcessTree(Number(readFileSync(marker, 'utf8')));
    } catch {
      // it finished meanwhile
    }
    await outcome;

    env.daemon = await startKeelson({ base: env.daemon.base, configToml });
    const listed = ((await rt().call('ListContainers', {})).containers ?? []).map((c) => c.id ?? '');
    const real = realContainers(handler);
    // Every listed container has its bundle; every bundle on disk is listed.
    expect([...real.bundles].sort()).toEqual([...listed].sort());
    // Every runc container of this handler belongs to a listed container.
    for (const id of real.runcStates) expect(listed).toContain(id);
    for (const id of listed) {
      const s = await rt().call('ContainerStatus', { container_id: id });
      expect(['CONTAINER_CREATED', 'CONTAINER_RUNNING', 'CONTAINER_EXITED']).toContain(s.status?.state);
    }

    await rt().call('StopPodSandbox', { pod_sandbox_id: podId });
    await rt().call('RemovePodSandbox', { pod_sandbox_id: podId });
    expect((await rt().call('ListContainers', {})).containers ?? []).toEqual([]);
    expect(realContainers(handler)).toEqual({ bundles: [], runcStates: [] });
    expect(existsSync(join(env.daemon.root, 'container-roots')) ? readdirSync(join(env.daemon.root, 'container-roots')) : []).toEqual([]);
    expect(mountsUnder(env.daemon.root)).toEqual([]);
    expect(readdirSync(join(env.daemon.state, 'exec'))).toEqual([]);
    // No conmon of this daemon is left running.
    expect(env.conmonPids()).toEqual([]);
    // No process is still running the container's command.
    expect(execFileSync('ps', ['-eo', 'args='], { encoding: 'utf8' }).split('\n').filter((l) => l.trim() === victim.join(' '))).toEqual([]);
  });
});
