// `keelson rmi` as docker rmi, through the keelson binary against a real daemon and the registry
// fixture: untagging one of two tags leaves the image to the other; an image a pod uses is
// refused without --force, and a forced removal leaves the running pod running; a restart that
// finds its image gone pulls it again (or, with imagePullPolicy Never, says ErrImageNeverPull).
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { makeTestNetwork, writeNetworkConfig, type TestNetwork } from '../../fixtures/cni.js';
import { runCli, startKeelson, type KeelsonDaemon } from '../../fixtures/daemon.js';
import { buildBaseLayer, buildImage } from '../../fixtures/image-builder.js';
import { startRegistry, type Registry } from '../../fixtures/registry.js';
import { unmountAllUnder } from '../../fixtures/sandbox.js';
import { waitFor } from '../../fixtures/wait.js';

/** Fast backoff so restarts show within seconds. */
const SUPERVISOR_TOML = '[supervisor]\nbackoff_base_ms = 500\nbackoff_max_ms = 2000\ntick_ms = 100\n';
const run = randomBytes(3).toString('hex');
let registry: Registry;
let daemon: KeelsonDaemon;
let net: TestNetwork;
let env: NodeJS.ProcessEnv;
let dir: string;
/** Distinct images (each its own config, so its own id) on the registry, by role. */
const images: Record<'shared' | 'busy' | 'restart' | 'never', string> = { shared: '', busy: '', restart: '', never: '' };
let sharedSecondTag = '';

interface PodRowJson {
  id: string;
  name: string;
  status: string;
  restarts: number;
  supervised: { containers: Array<{ name: string; containerId: string; restarts: number; state: string; reason: string; message: string }> } | null;
}

interface ImageJson {
  id: string;
  repoTags?: string[];
}

async function cli(...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return runCli(args, env);
}

async function ok(...args: string[]): Promise<string> {
  const r = await cli(...args);
  if (r.code !== 0) throw new Error(`keelson ${args.join(' ')} failed (${r.code}):\n${r.stderr}\n${r.stdout}`);
  return r.stdout;
}

async function pods(): Promise<PodRowJson[]> {
  return JSON.parse(await ok('pods', '-o', 'json')) as PodRowJson[];
}

async function listImages(): Promise<ImageJson[]> {
  return JSON.parse(await ok('images', '-o', 'json')) as ImageJson[];
}

async function tagsOf(id: string): Promise<string[] | undefined> {
  return (await listImages()).find((i) => i.id === id)?.repoTags;
}

/** `keelson run` of a one-container pod; returns its name. */
async function runPod(name: string, image: string, opts: { policy: string; command: string; restartPolicy?: string }): Promise<string> {
  const file = join(dir, `${name}.yaml`);
  await writeFile(file, `
apiVersion: v1
kind: Pod
metadata: { name: ${name} }
spec:
  restartPolicy: ${opts.restartPolicy ?? 'Always'}
  terminationGracePeriodSeconds: 1
  containers:
    - name: app
      image: ${image}
      imagePullPolicy: ${opts.policy}
      command: ["sh", "-c", ${JSON.stringify(opts.command)}]
`);
  await ok('run', file);
  return name;
}

async function podRow(name: string): Promise<PodRowJson | undefined> {
  return (await pods()).find((p) => p.name === name);
}

async function execIn(containerId: string, cmd: string[]): Promise<number> {
  const r = await daemon.client.runtime.call('ExecSync', { container_id: containerId, cmd, timeout: '10' });
  return r.exit_code ?? -1;
}

/** Holds until /tmp/stop exists, then fails, so a test decides when the restart happens. */
const UNTIL_STOPPED = 'while [ ! -e /tmp/stop ]; do sleep 0.2; done; exit 1';

beforeAll(async () => {
  registry = await startRegistry();
  const baseLayer = await buildBaseLayer();
  for (const role of Object.keys(images) as Array<keyof typeof images>) {
    const built = await buildImage({ baseLayer, config: { Env: ['PATH=/bin:/usr/bin:/sbin:/usr/sbin', `ROLE=${role}-${run}`] } });
    const repo = `rmi-${run}/${role}`;
    await registry.push(repo, built, 'v1');
    images[role] = `${registry.host}/${repo}:v1`;
    if (role === 'shared') {
      await registry.push(repo, built, 'v2');
      sharedSecondTag = `${registry.host}/${repo}:v2`;
    }
  }
  daemon = await startKeelson({ configToml: SUPERVISOR_TOML });
  net = makeTestNetwork(daemon.base);
  await writeNetworkConfig(daemon.cniConfDir, net);
  dir = join(daemon.base, 'manifests');
  await mkdir(dir, { recursive: true });
  env = { KEELSON_SOCKET: daemon.socket, KEELSON_ROOT: daemon.root, KEELSON_LOG_ROOT: join(daemon.base, 'pod-logs') };
}, 120_000);

afterEach(async () => {
  for (const p of await pods().catch(() => [])) await cli('rm', p.id);
});

afterAll(async () => {
  if (daemon) {
    for (const p of await pods().catch(() => [])) await cli('rm', p.id);
    await daemon.stop();
    unmountAllUnder(daemon.base);
    await daemon.destroy();
  }
  net?.cleanup();
  await registry?.stop();
});

describe('keelson rmi', () => {
  it('untags one of two tags; the image stays for the other, which still runs pods; an id with two tags needs --force', async () => {
    const id = (await ok('pull', '-q', images.shared)).trim();
    expect((await ok('pull', '-q', sharedSecondTag)).trim()).toBe(id);
    expect((await tagsOf(id))?.sort()).toEqual([images.shared, sharedSecondTag].sort());

    const byId = await cli('rmi', id);
    expect(byId.code).not.toBe(0);
    expect(byId.stderr).toMatch(/is referenced in multiple repositories .*remove it by name, or use --force/);
    expect(await tagsOf(id)).toHaveLength(2);

    const untag = await ok('rmi', images.shared);
    expect(untag).toContain(`Untagged: ${images.shared}`);
    expect(untag).not.toContain('Deleted:');
    expect(await tagsOf(id)).toEqual([sharedSecondTag]);

    // Never: the pod must start from the image as it is, no pull behind the test's back.
    const name = await runPod(`tagged-${run}`, sharedSecondTag, { policy: 'Never', command: 'sleep 3600' });
    const row = await waitFor('the pod running', async () => ((await podRow(name))?.status === 'Running' ? podRow(name) : undefined));
    expect(row?.supervised?.containers[0]?.state).toBe('running');
    await ok('rm', name);

    // The last name takes the image with it, now that no container uses it.
    const last = await ok('rmi', sharedSecondTag);
    expect(last).toContain(`Untagged: ${sharedSecondTag}`);
    expect(last).toContain(`Deleted: ${id}`);
    expect(await tagsOf(id)).toBeUndefined();
  }, 120_000);

  it('refuses an image a running pod uses, naming it; --force removes it and the pod keeps running', async () => {
    const id = (await ok('pull', '-q', images.busy)).trim();
    const name = await runPod(`busy-${run}`, images.busy, { policy: 'IfNotPresent', command: 'sleep 3600' });
    const row = await waitFor('the pod running', async () => ((await podRow(name))?.status === 'Running' ? podRow(name) : undefined));
    const containerId = row?.supervised?.containers[0]?.containerId ?? '';

    for (const ref of [images.busy, id]) {
      const refused = await cli('rmi', ref);
      expect(refused.code).not.toBe(0);
      expect(refused.stderr).toContain(`image ${ref} is in use by container app of pod default/${name} (running): stop the pod first or use --force`);
    }
    expect(await tagsOf(id)).toEqual([images.busy]);

    const forced = await ok('rmi', '--force', images.busy);
    expect(forced).toContain(`Deleted: ${id}`);
    expect(await tagsOf(id)).toBeUndefined();
    // Its layers stay under the running container: the rootfs still reads and runs.
    expect(await execIn(containerId, ['sh', '-c', 'ls /bin >/dev/null && echo still > /tmp/w && cat /tmp/w'])).toBe(0);
    expect((await podRow(name))?.status).toBe('Running');
  }, 120_000);

  it('a restart that finds its image removed pulls it again from the registry, and the restart count goes up', async () => {
    const id = (await ok('pull', '-q', images.restart)).trim();
    const name = await runPod(`repull-${run}`, images.restart, { policy: 'IfNotPresent', command: UNTIL_STOPPED });
    const row = await waitFor('the pod running', async () => ((await podRow(name))?.status === 'Running' ? podRow(name) : undefined));
    expect(row?.restarts).toBe(0);
    await ok('rmi', '--force', images.restart);
    expect(await tagsOf(id)).toBeUndefined();

    expect(await execIn(row?.supervised?.containers[0]?.containerId ?? '', ['touch', '/tmp/stop'])).toBe(0);
    const restarted = await waitFor('a restart', async () => {
      const r = await podRow(name);
      return r && r.restarts >= 1 && r.status === 'Running' ? r : undefined;
    }, 60_000);
    expect(restarted.supervised?.containers[0]?.state).toBe('running');
    expect(await tagsOf(id)).toEqual([images.restart]);
  }, 120_000);

  it('with imagePullPolicy Never the restart fails with ErrImageNeverPull, in pods and inspect', async () => {
    await ok('pull', '-q', images.never);
    const name = await runPod(`never-${run}`, images.never, { policy: 'Never', command: UNTIL_STOPPED });
    const row = await waitFor('the pod running', async () => ((await podRow(name))?.status === 'Running' ? podRow(name) : undefined));
    await ok('rmi', '--force', images.never);
    expect(await execIn(row?.supervised?.containers[0]?.containerId ?? '', ['touch', '/tmp/stop'])).toBe(0);

    await waitFor('ErrImageNeverPull', async () => ((await podRow(name))?.status === 'ErrImageNeverPull' ? true : undefined), 30_000);
    expect(await ok('pods')).toMatch(new RegExp(`${name}\\s+default\\s+0/1\\s+ErrImageNeverPull\\s+0`));
    const inspected = JSON.parse(await ok('inspect', name)) as { supervisor: { containers: Array<{ reason: string; message: string; restarts: number }> } };
    expect(inspected.supervisor.containers[0]).toMatchObject({
      reason: 'ErrImageNeverPull', restarts: 0,
      message: `Container image "${images.never}" is not present with pull policy of Never`,
    });
    expect((await listImages()).some((i) => i.repoTags?.includes(images.never))).toBe(false);
  }, 120_000);

  it('a restart whose image cannot be pulled shows ErrImagePull, then ImagePullBackOff, with no restart', async () => {
    // A registry of its own, stopped while the image is gone, so the pull fails.
    const gone = await startRegistry();
    try {
      const image = `${gone.host}/rmi-${run}/unreachable:v1`;
      await gone.push(`rmi-${run}/unreachable`, await buildImage({ config: { Env: ['PATH=/bin:/usr/bin:/sbin:/usr/sbin', `ROLE=unreachable-${run}`] } }), 'v1');
      await ok('pull', '-q', image);
      const name = await runPod(`pullfail-${run}`, image, { policy: 'IfNotPresent', command: UNTIL_STOPPED });
      const row = await waitFor('the pod running', async () => ((await podRow(name))?.status === 'Running' ? podRow(name) : undefined));
      await ok('rmi', '--force', image);
      await gone.stop();
      expect(await execIn(row?.supervised?.containers[0]?.containerId ?? '', ['touch', '/tmp/stop'])).toBe(0);

      const statuses = new Set<string>();
      const failing = await waitFor('ImagePullBackOff', async () => {
        const r = await podRow(name);
        if (r) statuses.add(r.status);
        return r?.status === 'ImagePullBackOff' ? r : undefined;
      }, 60_000, 50);
      expect(statuses).toContain('ErrImagePull');
      expect(failing.restarts).toBe(0);
      const inspected = JSON.parse(await ok('inspect', name)) as { supervisor: { containers: Array<{ reason: string; message: string }> } };
      expect(inspected.supervisor.containers[0]?.reason).toBe('ImagePullBackOff');
      expect(inspected.supervisor.containers[0]?.message).toContain(`Back-off pulling image "${image}": Failed to pull image "${image}": `);
    } finally {
      await gone.stop();
    }
  }, 120_000);
});
