// The daemon killed (SIGKILL) inside each container and pod RPC at the step that matters: the
// runtime handler's runc is a wrapper that, for one subcommand (of the pod's infra process
// only, for pod steps), writes its pid to a marker file and waits (before or after running the
// real runc), or the network's keelson-failpoint plugin holds its DEL the same way, so the
// kill lands exactly there. After a restart every listed pod and container is real, every real
// one is listed, a retried Stop/Remove succeeds, and once the pod is removed nothing is left
// (fixtures/nothing-left.ts): no netns, IP, cgroup, bundle, rootfs, runc state, mount, conmon
// or scratch file.
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findExecutable } from '../../../src/runtime/find-executable.js';
import { killProcessTree } from '../../../src/runtime/process-tree.js';
import { startKeelson } from '../../fixtures/daemon.js';
import { PodEnv } from '../../fixtures/pod-env.js';
import { waitForPidFile } from '../../fixtures/wait.js';
import { leftovers, listedVersusReal, tmpScratch } from '../../fixtures/nothing-left.js';
import { podConfig } from '../../fixtures/sandbox.js';

type Step = {
  name: string;
  /** The RPC under which the step is held. */
  rpc: 'CreateContainer' | 'StopContainer' | 'ExecSync' | 'StopPodSandbox' | 'RemovePodSandbox';
  /** A runc subcommand, or the CNI DEL of the keelson-failpoint plugin. */
  subcommand: 'create' | 'kill' | 'delete' | 'exec' | 'cni-del';
  when: 'before' | 'after';
  /** Hold only the pod infra process's runc call (its id is infra-<pod id>). */
  infra?: boolean;
};
const STEPS: Step[] = [
  { name: 'CreateContainer, inside runc create', rpc: 'CreateContainer', subcommand: 'create', when: 'before' },
  { name: 'CreateContainer, after runc create', rpc: 'CreateContainer', subcommand: 'create', when: 'after' },
  { name: 'StopContainer, after runc kill', rpc: 'StopContainer', subcommand: 'kill', when: 'after' },
  // The runtime record of an exited container is deleted when the exit is recorded (Stop waits
  // for it), as containerd deletes the task; RemoveContainer then runs no runc at all.
  { name: 'StopContainer, inside the runc delete of the exited container', rpc: 'StopContainer', subcommand: 'delete', when: 'before' },
  { name: 'StopContainer, after the runc delete of the exited container', rpc: 'StopContainer', subcommand: 'delete', when: 'after' },
  { name: 'ExecSync, inside runc exec', rpc: 'ExecSync', subcommand: 'exec', when: 'before' },
  { name: 'StopPodSandbox, after the infra runc kill', rpc: 'StopPodSandbox', subcommand: 'kill', when: 'after', infra: true },
  { name: 'StopPodSandbox, inside CNI DEL', rpc: 'StopPodSandbox', subcommand: 'cni-del', when: 'before' },
  { name: 'RemovePodSandbox, inside the infra runc delete', rpc: 'RemovePodSandbox', subcommand: 'delete', when: 'before', infra: true },
  { name: 'RemovePodSandbox, after the infra runc delete', rpc: 'RemovePodSandbox', subcommand: 'delete', when: 'after', infra: true },
];

let env: PodEnv;
const dir = mkdtempSync(join(tmpdir(), 'keelson-rpc-kills-'));
const marker = join(dir, 'held');
let configToml = '';
const runc = findExecutable('runc') as string;
const FIXTURE_PLUGINS = fileURLToPath(new URL('../../fixtures/cni-plugins', import.meta.url));

/** The wrapper holds only while its arm file exists: start-up sweeps call runc too. */
const armFile = (i: number): string => join(dir, `arm-${i}`);
const CNI_ARM = join(dir, 'arm-cni-del');

function wrapper(step: Step, i: number): string {
  const path = join(dir, `hold-${i}-${step.subcommand}-${step.when}`);
  const hold = `rm -f ${armFile(i)}; echo $$ > ${marker}; sleep 60`;
  // For infra steps, only a call naming infra-<pod id> is held (the pod's containers come first).
  const infraOnly = step.infra ? ' && case " $* " in *" infra-"*) true;; *) false;; esac' : '';
  writeFileSync(path, [
    '#!/bin/sh',
    'for a in "$@"; do',
    `  if [ "$a" = ${step.subcommand} ] && [ -e ${armFile(i)} ]${infraOnly}; then`,
    step.when === 'before' ? `    ${hold}; exec ${runc} "$@"` : `    ${runc} "$@"; rc=$?; ${hold}; exit $rc`,
    '  fi',
    'done',
    `exec ${runc} "$@"`,
    '',
  ].join('\n'));
  chmodSync(path, 0o755);
  return path;
}

let tmpBefore: string[] = [];

beforeAll(async () => {
  tmpBefore = tmpScratch();
  configToml = `bin_dirs = ["${FIXTURE_PLUGINS}", "/usr/lib/cni"]\n`
    + STEPS.map((s, i) => `[runtime.handlers.hold${i}]\npath = "${wrapper(s, i)}"\n`).join('');
  // keelson-failpoint last in the chain, so DEL reaches it first (the IP still allocated).
  const failpoint = { type: 'keelson-failpoint', failOn: [], holdOn: ['DEL'], holdArm: CNI_ARM, holdMarker: marker };
  env = await PodEnv.start({}, { configToml }, { extraPlugins: [failpoint] });
});

afterAll(async () => {
  await env?.destroy();
  rmSync(dir, { recursive: true, force: true });
});

describe('SIGKILL inside a container or pod RPC', () => {
  it.each(STEPS.map((s, i) => [s.name, s, i] as const))('%s: after a restart, listed = real, a retry succeeds, and removal leaves nothing', async (_name, step, i) => {
    const handler = `hold${i}`;
    rmSync(marker, { force: true });
    const rt = () => env.daemon.client.runtime;
    // Pod steps: a pod with an infra process (pid POD, the default once namespace_options is given).
    const config = podConfig({ log_directory: join(env.logRoot, handler), linux: step.infra ? { security_context: { namespace_options: {} } } : {} });
    const podId = (await rt().call('RunPodSandbox', { config, runtime_handler: handler })).pod_sandbox_id ?? '';
    const pod = { id: podId, config };
    const victim = ['sleep', String(7301 + i)]; // a command line no other test runs

    let call: Promise<unknown>;
    const arm = (): void => writeFileSync(step.subcommand === 'cni-del' ? CNI_ARM : armFile(i), '');
    if (step.rpc === 'CreateContainer') {
      arm();
      call = env.createContainer(pod, env.container('victim', victim));
    } else {
      const id = await env.startContainer(pod, env.container('victim', victim));
      if (step.rpc === 'RemovePodSandbox') await rt().call('StopPodSandbox', { pod_sandbox_id: podId });
      arm();
      if (step.rpc === 'StopContainer') call = rt().call('StopContainer', { container_id: id, timeout: '0' });
      else if (step.rpc === 'ExecSync') call = rt().call('ExecSync', { container_id: id, cmd: ['echo', 'hi'], timeout: '0' });
      else if (step.rpc === 'StopPodSandbox') call = rt().call('StopPodSandbox', { pod_sandbox_id: podId });
      else call = rt().call('RemovePodSandbox', { pod_sandbox_id: podId });
    }
    const outcome = call.catch((e: unknown) => e);
    const held = await waitForPidFile(marker, `the ${step.subcommand} step to be held`);
    await env.daemon.kill();
    try {
      // The held wrapper and its sleep, by pid (an orphaned sleep would hold conmon's pipe open).
      killProcessTree(held);
    } catch {
      // it finished meanwhile
    }
    await outcome;

    env.daemon = await startKeelson({ base: env.daemon.base, configToml });
    expect(await listedVersusReal(env)).toEqual([]);
    const pods = ((await rt().call('ListPodSandbox', {})).items ?? []).map((p) => p.id);
    // Only a finished RemovePodSandbox may take the pod away; the container RPCs never do.
    if (step.rpc !== 'RemovePodSandbox') expect(pods).toEqual([podId]);

    // The retried call (kubelet's), then the rest of the pod's removal.
    if (step.rpc !== 'RemovePodSandbox') await rt().call('StopPodSandbox', { pod_sandbox_id: podId });
    await rt().call('RemovePodSandbox', { pod_sandbox_id: podId });
    expect((await rt().call('ListPodSandbox', {})).items ?? []).toEqual([]);
    expect((await rt().call('ListContainers', {})).containers ?? []).toEqual([]);
    expect(await leftovers(env, { pods: [podId], tmpBefore, commands: [victim.join(' ')] })).toEqual([]);
  });
});
