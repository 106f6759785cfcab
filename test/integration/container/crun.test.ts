// crun as a runtime handler. Debian's crun 1.8.1 refuses the cgroup paths of this machine's
// cgroup v1 hybrid layout at create; the test runs as far as crun gets and skips the rest
// with that reason.
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findExecutable } from '../../../src/runtime/find-executable.js';
import { containerRequest, startServiceHarness, type ServiceHarness } from '../../fixtures/container-service.js';
import { runToExit } from '../../fixtures/container-run.js';

const haveCrun = findExecutable('crun') !== null;
let h: ServiceHarness;
let createError: string | null = null;

beforeAll(async () => {
  if (!haveCrun) return;
  h = await startServiceHarness();
  await h.images.addImage('busybox');
});
afterAll(async () => { await h?.destroy(); });

describe.skipIf(!haveCrun)('crun handler', () => {
  it('creates through conmon, or fails with crun\'s own message and leaves nothing', async () => {
    const pod = await h.pods.createPod({ runtimeHandler: 'crun' });
    try {
      const r = await runToExit(h.service, pod.id, containerRequest({ command: ['sh', '-c', 'echo from crun; exit 2'] }));
      expect(r.stdout).toBe('from crun\n');
      expect(r.status.exitCode).toBe(2);
    } catch (err) {
      createError = (err as Error).message;
      expect(createError).toMatch(/crun create failed: .+/);
      expect(await h.service.list()).toEqual([]);
      expect(await readdir(join(h.base, 'root', 'containers'))).toEqual([]);
      expect(h.images.mountedCount()).toBe(0);
    }
  });

  it('runs the lifecycle under crun', async (ctx) => {
    if (createError) ctx.skip(`crun 1.8.1 cannot create here (cgroup v1 hybrid layout): ${createError}`);
    const pod = await h.pods.createPod({ runtimeHandler: 'crun' });
    const id = await h.service.create(pod.id, containerRequest({ name: 'long', command: ['sleep', '100'] }));
    await h.service.start(id);
    expect((await h.service.status(id)).state).toBe('running');
    const exec = await h.service.execSync(id, ['echo', 'exec'], 5);
    expect(exec.stdout.toString()).toBe('exec\n');
    await h.service.stop(id, 0);
    expect((await h.service.status(id)).exitCode).toBe(137);
    await h.service.remove(id);
  });
});
