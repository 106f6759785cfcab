// CheckpointContainer, CheckpointPod and RestorePod through the daemon's socket: each bad
// request gets its code and changes nothing, and on a machine whose CRIU cannot run the
// calls answer FailedPrecondition with CRIU's own reason and leave nothing at the location.
import { existsSync, readdirSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { status as grpcStatus } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Criu, type CriuAvailability } from '../../../src/runtime/criu.js';
import { startKeelson } from '../../fixtures/daemon.js';
import { grpcError } from '../../fixtures/grpc.js';
import { PodEnv } from '../../fixtures/pod-env.js';
import { podConfig } from '../../fixtures/sandbox.js';

let env: PodEnv;
let out: string;
let criu: CriuAvailability;
let pod: { id: string; config: ReturnType<typeof podConfig> };
let running: string;
let exited: string;

beforeAll(async () => {
  criu = await new Criu('criu').availability();
  env = await PodEnv.start();
  out = await mkdtemp(join(tmpdir(), 'keelson-ckpt-'));
  pod = await env.runPod();
  running = await env.startContainer(pod, env.container('sleeper', ['sleep', '3600']));
  exited = await env.startContainer(pod, env.container('done', ['true']));
  for (let i = 0; i < 200; i++) {
    const s = await env.daemon.client.runtime.call('ContainerStatus', { container_id: exited });
    if (s.status?.state === 'CONTAINER_EXITED') break;
    await new Promise((r) => setTimeout(r, 25));
  }
});
afterAll(async () => {
  await env?.destroy();
  if (out) await rm(out, { recursive: true, force: true });
});

const rt = () => env.daemon.client.runtime;
/** What the directory holds: nothing may be left behind by a refused call. */
const leftovers = (): string[] => readdirSync(out);

describe('CheckpointContainer', () => {
  it('refuses a missing container_id or location, a relative location, a missing parent or a directory, naming the field', async () => {
    const cases: Array<[object, string]> = [
      [{ location: join(out, 'a.tar') }, 'container_id is required'],
      [{ container_id: running }, 'location is required'],
      [{ container_id: running, location: 'relative/a.tar' }, 'must be an absolute path'],
      [{ container_id: running, location: join(out, 'no-such-dir', 'a.tar') }, 'does not exist'],
      [{ container_id: running, location: out }, 'is an existing directory'],
      [{ container_id: running, location: join(out, 'a.tar'), timeout: '-1' }, 'timeout "-1"'],
    ];
    for (const [req, message] of cases) {
      const err = await grpcError(rt().call('CheckpointContainer', req));
      expect(err.code, JSON.stringify(req)).toBe(grpcStatus.INVALID_ARGUMENT);
      expect(err.details).toContain(message);
    }
    expect(leftovers()).toEqual([]);
  });

  it('answers NotFound for an unknown container', async () => {
    const err = await grpcError(rt().call('CheckpointContainer', { container_id: 'f00dfeedbeef', location: join(out, 'a.tar') }));
    expect(err.code).toBe(grpcStatus.NOT_FOUND);
    expect(err.details).toContain('f00dfeedbeef');
  });

  it('answers FailedPrecondition naming the state of a container that is not running', async () => {
    const err = await grpcError(rt().call('CheckpointContainer', { container_id: exited, location: join(out, 'a.tar') }));
    expect(err.code).toBe(grpcStatus.FAILED_PRECONDITION);
    expect(err.details).toContain(`container ${exited} is exited, not running`);
    expect(leftovers()).toEqual([]);
  });

  it('answers FailedPrecondition with CRIU\'s reason when CRIU cannot run, writes nothing, and the container keeps running', async (ctx) => {
    if (criu.usable) ctx.skip();
    const reason = criu.usable ? '' : criu.reason;
    const location = join(out, 'checkpoint-sleeper.tar');
    const err = await grpcError(rt().call('CheckpointContainer', { container_id: running.slice(0, 12), location, timeout: '30' }));
    expect(err.code).toBe(grpcStatus.FAILED_PRECONDITION);
    expect(err.details).toContain(`cannot checkpoint container ${running}: CRIU cannot run on this machine: ${reason}`);
    expect(existsSync(location)).toBe(false);
    expect(leftovers()).toEqual([]);
    const s = await rt().call('ContainerStatus', { container_id: running });
    expect(s.status?.state).toBe('CONTAINER_RUNNING');
  });
});

describe('CheckpointPod', () => {
  it('refuses a missing pod_sandbox_id or output_path, and an output_path that exists', async () => {
    const taken = join(out, 'taken');
    await writeFile(taken, '');
    try {
      const cases: Array<[object, string]> = [
        [{ output_path: join(out, 'p') }, 'pod_sandbox_id is required'],
        [{ pod_sandbox_id: pod.id }, 'output_path is required'],
        [{ pod_sandbox_id: pod.id, output_path: taken }, 'already exists'],
        [{ pod_sandbox_id: pod.id, output_path: join(out, 'missing', 'p') }, 'does not exist'],
      ];
      for (const [req, message] of cases) {
        const err = await grpcError(rt().call('CheckpointPod', req));
        expect(err.code, JSON.stringify(req)).toBe(grpcStatus.INVALID_ARGUMENT);
        expect(err.details).toContain(message);
      }
    } finally {
      await rm(taken);
    }
  });

  it('answers NotFound for an unknown pod or an unknown container in container_ids', async () => {
    const unknownPod = await grpcError(rt().call('CheckpointPod', { pod_sandbox_id: 'f00dfeedbeef', output_path: join(out, 'p') }));
    expect(unknownPod.code).toBe(grpcStatus.NOT_FOUND);
    const unknownContainer = await grpcError(rt().call('CheckpointPod', { pod_sandbox_id: pod.id, output_path: join(out, 'p'), container_ids: ['f00dfeedbeef'] }));
    expect(unknownContainer.code).toBe(grpcStatus.NOT_FOUND);
  });

  it('answers FailedPrecondition when a chosen container is not running', async () => {
    const err = await grpcError(rt().call('CheckpointPod', { pod_sandbox_id: pod.id, output_path: join(out, 'p'), container_ids: [exited] }));
    expect(err.code).toBe(grpcStatus.FAILED_PRECONDITION);
    expect(err.details).toContain('is exited, not running');
  });

  it('answers FailedPrecondition with CRIU\'s reason when CRIU cannot run, and writes nothing', async (ctx) => {
    if (criu.usable) ctx.skip();
    const reason = criu.usable ? '' : criu.reason;
    const outputPath = join(out, 'pod-checkpoint');
    const err = await grpcError(rt().call('CheckpointPod', { pod_sandbox_id: pod.id, output_path: outputPath }));
    expect(err.code).toBe(grpcStatus.FAILED_PRECONDITION);
    expect(err.details).toContain(`cannot checkpoint pod ${pod.id}: CRIU cannot run on this machine: ${reason}`);
    expect(leftovers()).toEqual([]);
  });
});

describe('RestorePod', () => {
  it('refuses a missing checkpoint_path or config, and answers NotFound for a checkpoint that is not there', async () => {
    const missingPath = await grpcError(rt().call('RestorePod', { config: podConfig() }));
    expect(missingPath.code).toBe(grpcStatus.INVALID_ARGUMENT);
    expect(missingPath.details).toContain('checkpoint_path is required');
    const missingConfig = await grpcError(rt().call('RestorePod', { checkpoint_path: out }));
    expect(missingConfig.code).toBe(grpcStatus.INVALID_ARGUMENT);
    expect(missingConfig.details).toContain('config is required');
    const gone = await grpcError(rt().call('RestorePod', { checkpoint_path: join(out, 'gone'), config: podConfig() }));
    expect(gone.code).toBe(grpcStatus.NOT_FOUND);
    expect(gone.details).toContain(join(out, 'gone'));
  });

  it('answers FailedPrecondition with CRIU\'s reason when CRIU cannot run, and makes no pod', async (ctx) => {
    if (criu.usable) ctx.skip();
    const reason = criu.usable ? '' : criu.reason;
    const dir = join(out, 'restore-me');
    await mkdir(dir);
    try {
      const before = (await rt().call('ListPodSandbox', {})).items?.length;
      const err = await grpcError(rt().call('RestorePod', { checkpoint_path: dir, config: podConfig() }));
      expect(err.code).toBe(grpcStatus.FAILED_PRECONDITION);
      expect(err.details).toContain(`cannot restore pod from ${dir}: CRIU cannot run on this machine: ${reason}`);
      expect((await rt().call('ListPodSandbox', {})).items?.length).toBe(before);
    } finally {
      await rm(dir, { recursive: true });
    }
  });
});

describe('checkpoint calls on a daemon whose criu.path names no binary', () => {
  it('answer FailedPrecondition saying criu is not installed', async () => {
    const daemon = await startKeelson({ configToml: '[criu]\npath = "/nonexistent/keelson-test/criu"\n' });
    const dir = await mkdtemp(join(tmpdir(), 'keelson-ckpt-nocriu-'));
    try {
      const err = await grpcError(daemon.client.runtime.call('RestorePod', { checkpoint_path: dir, config: podConfig() }));
      expect(err.code).toBe(grpcStatus.FAILED_PRECONDITION);
      expect(err.details).toContain('CRIU cannot run on this machine: criu is not installed (looked for "/nonexistent/keelson-test/criu")');
    } finally {
      await daemon.destroy();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
