// conmon that cannot run, or a runtime that fails: a clear error, and nothing left behind.
import { chmod, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { containerRequest, startServiceHarness, type ServiceHarness } from '../../fixtures/container-service.js';

let h: ServiceHarness;
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'keelson-badconmon-'));
  // A "conmon" that dies at once without a word on the sync pipe.
  await writeFile(join(dir, 'conmon'), '#!/bin/sh\necho "broken monitor" >&2\nexit 1\n');
  await chmod(join(dir, 'conmon'), 0o755);
  h = await startServiceHarness({ conmonPath: join(dir, 'conmon') });
  await h.images.addImage('busybox');
});
afterAll(async () => {
  await h?.destroy();
  await rm(dir, { recursive: true, force: true });
});

it('a monitor that dies without reporting fails the create and leaves nothing', async () => {
  const pod = await h.pods.createPod();
  await expect(h.service.create(pod.id, containerRequest({ command: ['true'] }))).rejects.toThrow(/conmon exited without reporting.*conmon said: broken monitor/);
  expect(await h.service.list()).toEqual([]);
  expect(await readdir(join(h.base, 'root', 'containers'))).toEqual([]);
  expect(await readdir(join(h.base, 'state', 'containers')).catch(() => [])).toEqual([]);
  expect(h.images.mountedCount()).toBe(0);
});
