// A container outlives its daemon: the daemon process is killed with SIGKILL, the container
// keeps running and logging under conmon, and a new service on the same dirs finds it and
// its later exit code.
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { probeCgroupHost } from '../../../src/cgroup/detect.js';
import type { ImageProvider, SandboxView } from '../../../src/container/dependencies.js';
import { findExecutable } from '../../../src/runtime/find-executable.js';
import { RuntimeRegistry } from '../../../src/runtime/registry.js';
import { ContainerService } from '../../../src/container/service.js';
import { openDatabase } from '../../../src/store/database.js';
import { assertBuilt } from '../../fixtures/daemon.js';
import { containerRequest, handlerPaths } from '../../fixtures/container-service.js';
import { waitExited, waitFor } from '../../fixtures/container-run.js';
import { PodProvider } from '../../fixtures/pod-provider.js';
import { RootfsProvider } from '../../fixtures/rootfs-provider.js';

const CHILD = fileURLToPath(new URL('../../fixtures/container-daemon-child.mjs', import.meta.url));
let base: string;
let images: RootfsProvider;
let pods: PodProvider;
let childPid = 0;

beforeAll(async () => {
  assertBuilt();
  base = await mkdtemp(join(tmpdir(), 'keelson-kill-'));
  images = await RootfsProvider.create();
  pods = await PodProvider.create();
  await images.addImage('busybox');
});
afterAll(async () => {
  if (childPid) { try { process.kill(childPid, 'SIGKILL'); } catch { /* gone */ } }
  await pods?.destroy();
  await images?.destroy();
  if (base) await rm(base, { recursive: true, force: true });
});

it('a container keeps running and logging after its daemon is killed -9, and is found again', async () => {
  const pod: SandboxView = await pods.createPod();
  const { rootfs } = await images.prepareRootfs('shared-rootfs', images.resolve('busybox')?.id as string);
  await mkdir(join(base, 'root'), { recursive: true });
  const request = containerRequest({
    name: 'survivor', image: 'fixed', logPath: 'survivor.log',
    command: ['sh', '-c', 'i=0; while [ ! -e /tmp/stop ]; do i=$((i+1)); echo tick $i; sleep 0.05; done; exit 6'],
  });
  const input = { base, rootfs, sandbox: pod, request, conmon: findExecutable('conmon'), handlers: handlerPaths(), layout: probeCgroupHost().layout };
  const child = spawn(process.execPath, [CHILD, JSON.stringify(input)], { stdio: ['ignore', 'pipe', 'inherit'] });
  childPid = child.pid as number;
  const id = await new Promise<string>((resolve, reject) => {
    let text = '';
    child.stdout.on('data', (d: Buffer) => {
      text += String(d);
      const nl = text.indexOf('\n');
      if (nl >= 0) resolve((JSON.parse(text.slice(0, nl)) as { id: string }).id);
    });
    child.on('exit', (code) => reject(new Error(`stand-in daemon exited with ${code}`)));
  });

  process.kill(childPid, 'SIGKILL');
  await new Promise((r) => child.once('exit', r));
  childPid = 0;
  const logPath = join(pod.logDirectory as string, 'survivor.log');
  const before = (await readFile(logPath, 'utf8')).length;
  await waitFor(async () => (await readFile(logPath, 'utf8')).length > before + 100);

  const fixedImages: ImageProvider = {
    resolve: () => null, prepareRootfs: async () => ({ rootfs }), removeRootfs: async () => undefined,
    rootfsUsage: async () => ({ bytes: 0, inodes: 0 }),
    mountImageVolume: async () => { throw new Error('no image volumes here'); },
  };
  const db = openDatabase(join(base, 'keelson.db'));
  const service = new ContainerService({
    db, root: join(base, 'root'), state: join(base, 'state'),
    runtimes: new RuntimeRegistry({ conmonPath: findExecutable('conmon') as string, handlers: handlerPaths(), state: join(base, 'state') }),
    images: fixedImages, sandboxes: pods, log: pino({ level: 'silent' }), cgroupLayout: probeCgroupHost().layout,
  });
  await service.init();
  try {
    expect((await service.status(id)).state).toBe('running');
    await service.execSync(id, ['touch', '/tmp/stop'], 5);
    const done = await waitExited(service, id);
    expect(done).toMatchObject({ exitCode: 6, reason: 'Error' });
    await service.remove(id);
  } finally {
    service.close();
    db.close();
    await images.removeRootfs('shared-rootfs');
  }
});
