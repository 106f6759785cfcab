// CSI volumes end to end: the daemon starts the fixture CSI plugin (test/fixtures/csi-plugin)
// as a plugin binary, and `keelson run` pods use inline ephemeral volumes and named volumes
// (`keelson volume create`). The plugin's call log (calls.jsonl) and backing store show what
// keelson asked for; /proc/self/mountinfo shows that nothing is left mounted.
import { mountsUnder } from '../../fixtures/sandbox.js';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { claim, CsiCliEnv, DEMO_IMAGE, FAST_CSI_TOML, fixturePluginToml, readCalls } from '../../fixtures/csi-e2e.js';
import { CLI_PATH, startKeelson } from '../../fixtures/daemon.js';
import { waitFor } from '../../fixtures/wait.js';

const DRIVER = 'fixture.csi.keelson.dev';

let t: CsiCliEnv;
let pluginState: string;

interface PluginJson {
  name: string;
  healthy: boolean;
  lastError: string | null;
  info: { nodeCapabilities: string[]; controllerCapabilities: string[] } | null;
  process: { pid: number | null; running: boolean; restarts: number } | null;
}

interface VolumeJson {
  name: string;
  volumeId: string;
  capacityBytes: number;
  pods: string[];
  staged: boolean;
  usage: { usedBytes: number; totalBytes: number; availableBytes: number; condition: { abnormal: boolean; message: string } | null } | null;
  usageNote: string;
}

function configToml(base: string): string {
  return `${FAST_CSI_TOML}${fixturePluginToml(DRIVER, join(base, 'plugin'))}[csi.plugins."ghost.csi.keelson.dev"]
endpoint = "${join(base, 'nobody-listens.sock')}"
`;
}

/** Successful calls of a method (on one volume), from the plugin's log. */
function count(method: string, volumeId?: string): number {
  return readCalls(pluginState).filter((c) => c.method === method && c.ok !== false && (volumeId === undefined || c.volume_id === volumeId)).length;
}

const plugins = (): Promise<PluginJson[]> => t.json<PluginJson[]>('plugins');
const volumes = (): Promise<VolumeJson[]> => t.json<VolumeJson[]>('volume', 'ls');
const logsOf = async (pod: string): Promise<string> => (await t.cli('logs', `${pod}/main`)).stdout;

beforeAll(async () => {
  t = await CsiCliEnv.start('keelson-csi', configToml);
  pluginState = join(t.base, 'plugin', 'state');
}, 120_000);

afterEach(async () => {
  await rm(join(pluginState, 'fail'), { recursive: true, force: true });
  await rm(join(pluginState, 'hang'), { recursive: true, force: true });
  await t.removeAllPods();
});

afterAll(async () => {
  await t?.destroy();
});

describe('CSI plugins', () => {
  it('starts the configured plugin binary and lists it with capabilities and health; an unreachable plugin shows why', async () => {
    // Plugins start in the background (the daemon serves at once): wait for both to be probed.
    const list = await waitFor('both plugins to be probed', async () => {
      const l = await plugins();
      return l.every((p) => p.lastError !== 'starting') && l.length === 2 ? l : undefined;
    });
    const fixture = list.find((p) => p.name === DRIVER);
    expect(fixture?.healthy).toBe(true);
    expect(fixture?.process?.running).toBe(true);
    expect(fixture?.info?.nodeCapabilities).toEqual(expect.arrayContaining(['STAGE_UNSTAGE_VOLUME', 'GET_VOLUME_STATS']));
    expect(fixture?.info?.controllerCapabilities).toContain('CREATE_DELETE_VOLUME');
    const ghost = list.find((p) => p.name === 'ghost.csi.keelson.dev');
    expect(ghost?.healthy).toBe(false);
    expect(ghost?.lastError).toMatch(/not reachable|UNAVAILABLE/);
    const table = await t.ok('plugins');
    expect(table).toMatch(new RegExp(`${DRIVER.replaceAll('.', '\\.')}\\s+healthy`));
  });

  it('restarts a killed plugin, which then serves volumes again', async () => {
    const before = (await plugins()).find((p) => p.name === DRIVER)?.process;
    const pid = before?.pid ?? 0;
    expect(pid).toBeGreaterThan(0);
    process.kill(pid, 'SIGKILL');
    const after = await waitFor('the plugin to be restarted and healthy', async () => {
      const p = (await plugins()).find((x) => x.name === DRIVER);
      return p?.healthy && p.process?.pid && p.process.pid !== pid ? p : undefined;
    });
    expect(after.process?.restarts).toBeGreaterThanOrEqual(1);
    const file = await t.manifest('after-restart', `    - name: data\n      csi: { driver: ${DRIVER} }`, 'cat /data/hello.txt; sleep 3600');
    const pod = await t.runPod(file);
    await waitFor('the pod to read the plugin file', async () => ((await logsOf(pod)).includes('hello') ? true : undefined));
    await t.ok('rm', pod);
  });
});

describe('inline ephemeral CSI volumes', () => {
  it('publishes into the pod: the plugin file is seen, writes land in the backing store, and rm unpublishes', async () => {
    const file = await t.manifest('inline', `    - name: data
      csi:
        driver: ${DRIVER}
        volumeAttributes: { greeting: "greetings from volumeAttributes\\n" }`,
    'cat /data/hello.txt; echo written-by-pod > /data/out.txt; sleep 3600');
    const pod = await t.runPod(file);
    await waitFor('the pod to print the plugin file', async () => ((await logsOf(pod)).includes('greetings from volumeAttributes') ? true : undefined));
    const publish = readCalls(pluginState).filter((c) => c.method === 'NodePublishVolume' && c.ok !== false).at(-1);
    const volumeId = publish?.volume_id ?? '';
    expect(volumeId).toMatch(/^csi-[0-9a-f]{64}$/);
    // Ephemeral volumes are published only, never staged (as kubelet does).
    expect(count('NodeStageVolume', volumeId)).toBe(0);
    const backing = join(pluginState, 'ephemeral', volumeId, 'out.txt');
    await waitFor('the write to reach the backing store', () => (existsSync(backing) ? true : undefined));
    expect(readFileSync(backing, 'utf8')).toBe('written-by-pod\n');
    expect(t.csiMounts().some((m) => m === publish?.target_path)).toBe(true);

    await t.ok('rm', pod);
    expect(count('NodeUnpublishVolume', volumeId)).toBe(1);
    expect(t.csiMounts()).toEqual([]);
    expect(existsSync(join(t.daemon.root, 'csi', 'pods'))).toBe(true);
    expect(readdirSync(join(t.daemon.root, 'csi', 'pods'))).toEqual([]);
    expect(readFileSync(backing, 'utf8')).toBe('written-by-pod\n');
  });

  it('refuses a pod whose plugin is unreachable, and leaves no pod and no mount behind', async () => {
    const file = await t.manifest('ghostly', '    - name: data\n      csi: { driver: ghost.csi.keelson.dev }', 'sleep 3600');
    const r = await t.cli('run', file);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/ghost\.csi\.keelson\.dev.*(not healthy|not reachable)/);
    expect(JSON.parse(await t.ok('pods', '-o', 'json'))).toEqual([]);
    expect(t.csiMounts()).toEqual([]);
    const unknown = await t.manifest('nodriver', '    - name: data\n      csi: { driver: no.such.driver }', 'sleep 3600');
    const r2 = await t.cli('run', unknown);
    expect(r2.stderr).toMatch(/no CSI plugin named "no\.such\.driver"/);
  });
});

describe('named volumes', () => {
  it('stages once for two pods, unstages after the last, survives its pods, and shows usage from NodeGetVolumeStats', async () => {
    const name = `data-${randomBytes(3).toString('hex')}`;
    const created = JSON.parse(await t.ok('volume', 'create', name, '--driver', DRIVER, '--size', '64Mi', '-o', 'json')) as VolumeJson;
    expect(created.capacityBytes).toBe(64 * 1024 * 1024);
    const volumeId = created.volumeId;
    expect(count('CreateVolume')).toBeGreaterThanOrEqual(1);
    const data = claim(name);

    const writer = await t.runPod(await t.manifest('writer', data, 'dd if=/dev/zero of=/data/blob bs=1024 count=2048 2>/dev/null; echo kept > /data/marker; echo wrote; sleep 3600'));
    await waitFor('the writer to write', async () => ((await logsOf(writer)).includes('wrote') ? true : undefined));
    const reader = await t.runPod(await t.manifest('reader', data, 'cat /data/marker; sleep 3600'));
    await waitFor('the reader to read', async () => ((await logsOf(reader)).includes('kept') ? true : undefined));
    expect(count('NodeStageVolume', volumeId)).toBe(1);
    expect(count('NodePublishVolume', volumeId)).toBe(2);

    const listed = (await volumes()).find((v) => v.name === name);
    expect(listed?.pods.sort()).toEqual(['default/reader', 'default/writer']);
    expect(listed?.staged).toBe(true);
    expect(listed?.usage?.usedBytes).toBeGreaterThanOrEqual(2 * 1024 * 1024);
    expect(listed?.usage?.totalBytes).toBe(64 * 1024 * 1024);
    expect(count('NodeGetVolumeStats', volumeId)).toBeGreaterThanOrEqual(1);
    expect(await t.ok('volume', 'ls')).toMatch(new RegExp(`${name}\\s+${DRIVER.replaceAll('.', '\\.')}\\s+64Mi\\s+2\\.0Mi`));
    // Health from NodeGetVolumeStats' volume_condition (the plugin offers VOLUME_CONDITION).
    expect(listed?.usage?.condition).toEqual({ abnormal: false, message: 'volume is healthy' });
    await mkdir(join(pluginState, 'abnormal'), { recursive: true });
    await writeFile(join(pluginState, 'abnormal', volumeId), 'backing disk reports I/O errors\n');
    const sick = (await volumes()).find((v) => v.name === name);
    expect(sick?.usage?.condition).toEqual({ abnormal: true, message: 'backing disk reports I/O errors' });
    expect(await t.ok('volume', 'ls')).toContain('abnormal: backing disk reports I/O errors');
    await rm(join(pluginState, 'abnormal'), { recursive: true });

    const busy = await t.cli('volume', 'rm', name);
    expect(busy.code).not.toBe(0);
    expect(busy.stderr).toMatch(/in use by pods? .*default\/(reader|writer)/);

    await t.ok('rm', writer);
    expect(count('NodeUnstageVolume', volumeId)).toBe(0);
    await t.ok('rm', reader);
    expect(count('NodeUnstageVolume', volumeId)).toBe(1);
    expect(t.csiMounts()).toEqual([]);
    expect((await volumes()).find((v) => v.name === name)?.usageNote).toBe('not mounted');

    // The data outlives both pods; a third pod sees it (and stages anew).
    const later = await t.runPod(await t.manifest('later', data, 'cat /data/marker; sleep 3600'));
    await waitFor('the later pod to read', async () => ((await logsOf(later)).includes('kept') ? true : undefined));
    expect(count('NodeStageVolume', volumeId)).toBe(2);
    await t.ok('rm', later);

    await t.ok('volume', 'rm', name);
    expect(count('DeleteVolume', volumeId)).toBe(1);
    expect((await volumes()).find((v) => v.name === name)).toBeUndefined();
    expect(existsSync(join(pluginState, 'volumes', volumeId))).toBe(false);
  });

  it('a failing NodePublishVolume fails the pod and leaves nothing staged, mounted or running', async () => {
    const name = `flaky-${randomBytes(3).toString('hex')}`;
    const volumeId = (JSON.parse(await t.ok('volume', 'create', name, '--driver', DRIVER, '--size', '8Mi', '-o', 'json')) as VolumeJson).volumeId;
    await mkdir(join(pluginState, 'fail'), { recursive: true });
    await writeFile(join(pluginState, 'fail', 'NodePublishVolume'), 'INTERNAL');
    const r = await t.cli('run', await t.manifest('doomed', claim(name), 'sleep 3600'));
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/NodePublishVolume.*injected failure/);
    expect(count('NodeStageVolume', volumeId)).toBe(1);
    expect(count('NodeUnstageVolume', volumeId)).toBe(1);
    expect(t.csiMounts()).toEqual([]);
    expect(JSON.parse(await t.ok('pods', '-o', 'json'))).toEqual([]);
    const v = (await volumes()).find((x) => x.name === name);
    expect(v?.pods).toEqual([]);
    expect(v?.staged).toBe(false);
    await t.ok('volume', 'rm', name);
  });

  it('refuses bad names and sizes, and a claim naming no volume, changing nothing', async () => {
    const bad = await t.cli('volume', 'create', 'Bad_Name', '--driver', DRIVER);
    expect(bad.stderr).toMatch(/volume name "Bad_Name"/);
    const size = await t.cli('volume', 'create', 'ok-name', '--driver', DRIVER, '--size', 'lots');
    expect(size.code).not.toBe(0);
    const missing = await t.cli('run', await t.manifest('noclaim', '    - name: data\n      persistentVolumeClaim: { claimName: nope }', 'sleep 3600'));
    expect(missing.stderr).toMatch(/volume "nope" .*does not exist/);
    expect(JSON.parse(await t.ok('pods', '-o', 'json'))).toEqual([]);
    expect((await volumes()).map((v) => v.name)).not.toContain('ok-name');
  });
});

describe('daemon restart', () => {
  it('undoes a publish that was in flight when the daemon was killed', async () => {
    const name = `restart-${randomBytes(3).toString('hex')}`;
    const volumeId = (JSON.parse(await t.ok('volume', 'create', name, '--driver', DRIVER, '--size', '8Mi', '-o', 'json')) as VolumeJson).volumeId;
    await mkdir(join(pluginState, 'hang'), { recursive: true });
    await writeFile(join(pluginState, 'hang', 'NodePublishVolume'), '');
    const file = await t.manifest('interrupted', claim(name), 'sleep 3600');
    const run = spawn(process.execPath, [CLI_PATH, 'run', file], { env: t.cliEnv(), stdio: 'ignore' });
    const runExit = new Promise((r) => run.once('exit', r));
    await waitFor('the volume to be staged', () => (count('NodeStageVolume', volumeId) === 1 ? true : undefined));
    await waitFor('a publish target dir', () => (readdirSync(join(t.daemon.root, 'csi', 'pods')).length > 0 ? true : undefined));
    await new Promise((r) => setTimeout(r, 300));
    await t.daemon.kill();
    await runExit;
    await rm(join(pluginState, 'hang'), { recursive: true, force: true });
    t.daemon = await startKeelson({ base: t.base, configToml: configToml(t.base) });
    // The daemon serves before its CSI cleanup ends (it runs in the background): wait for the end state.
    await waitFor('the half-done publish to be undone', async () => {
      const v = (await volumes()).find((x) => x.name === name);
      return v?.pods.length === 0 && !v.staged && readdirSync(join(t.daemon.root, 'csi', 'pods')).length === 0 ? true : undefined;
    });
    expect(count('NodeUnpublishVolume', volumeId)).toBeGreaterThanOrEqual(1);
    expect(count('NodeUnstageVolume', volumeId)).toBe(1);
    expect(t.csiMounts()).toEqual([]);
    await t.ok('volume', 'rm', name);
  });
});

describe('subPath volume mounts', () => {
  async function writeManifest(name: string, body: string): Promise<string> {
    const path = join(t.base, 'manifests', `${name}-${randomBytes(3).toString('hex')}.yaml`);
    await writeFile(path, body);
    return path;
  }

  it('creates missing subPath dirs inside an emptyDir and a CSI volume, and mounts only them', async () => {
    const file = await writeManifest('subpaths', `
apiVersion: v1
kind: Pod
metadata: { name: subpaths }
spec:
  restartPolicy: Never
  terminationGracePeriodSeconds: 1 # sh as PID 1 ignores SIGTERM: rm would wait 30 s
  containers:
    - name: main
      image: ${DEMO_IMAGE}
      command: ["sh", "-c", "echo in-scratch > /s/f; echo in-csi > /d/g; ls /d; echo listed; sleep 3600"]
      volumeMounts:
        - { name: scratch, mountPath: /s, subPath: a/b }
        - { name: data, mountPath: /d, subPath: sub/dir }
  volumes:
    - name: scratch
      emptyDir: {}
    - name: data
      csi: { driver: ${DRIVER} }
`);
    const pod = await t.runPod(file);
    await waitFor('the pod to write both volumes', async () => ((await logsOf(pod)).includes('listed') ? true : undefined));
    const podDir = readdirSync(join(t.daemon.root, 'pod-volumes')).find((d) => d.startsWith('default_subpaths_')) ?? '';
    expect(readFileSync(join(t.daemon.root, 'pod-volumes', podDir, 'scratch', 'a', 'b', 'f'), 'utf8')).toBe('in-scratch\n');
    const volumeId = readCalls(pluginState).filter((c) => c.method === 'NodePublishVolume' && c.ok !== false).at(-1)?.volume_id ?? '';
    const backing = join(pluginState, 'ephemeral', volumeId);
    expect(readFileSync(join(backing, 'sub', 'dir', 'g'), 'utf8')).toBe('in-csi\n');
    // Only the subPath is mounted: the plugin's hello.txt at the volume's root is not in /d.
    expect(existsSync(join(backing, 'hello.txt'))).toBe(true);
    expect(await logsOf(pod)).not.toContain('hello.txt');
    // Each subPath reaches runc as a pin: a bind mount of the checked inode under the pod's
    // volume dir, so swapping a path component for a symlink afterwards moves nothing.
    const pins = join(t.daemon.root, 'pod-volumes', podDir, '.subpaths');
    expect(mountsUnder(pins).sort()).toEqual([join(pins, 'main-0'), join(pins, 'main-1')]);
    await t.ok('rm', pod);
    expect(t.csiMounts()).toEqual([]);
    expect(mountsUnder(join(t.daemon.root, 'pod-volumes'))).toEqual([]);
  });

  it('refuses a subPath through a symlink an earlier container left pointing at /etc, and leaves host /etc alone', async () => {
    const probe = `keelson-subpath-${randomBytes(4).toString('hex')}`;
    const file = await writeManifest('hostile', `
apiVersion: v1
kind: Pod
metadata: { name: hostile }
spec:
  restartPolicy: Never
  terminationGracePeriodSeconds: 1 # sh as PID 1 ignores SIGTERM: rm would wait 30 s
  initContainers:
    - name: plant
      image: ${DEMO_IMAGE}
      command: ["sh", "-c", "ln -s /etc /v/evil"]
      volumeMounts: [{ name: shared, mountPath: /v }]
  containers:
    - name: main
      image: ${DEMO_IMAGE}
      command: ["sh", "-c", "echo owned > /x/owned; sleep 3600"]
      volumeMounts: [{ name: shared, mountPath: /x, subPath: evil/${probe} }]
  volumes:
    - name: shared
      emptyDir: {}
`);
    const r = await t.cli('run', file);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(new RegExp(`container main volumeMounts\\[0\\]\\.subPath "evil/${probe}".*evil is a symlink to /etc, outside the volume`));
    expect(existsSync(join('/etc', probe))).toBe(false);
    expect(JSON.parse(await t.ok('pods', '-o', 'json'))).toEqual([]);
    expect(readdirSync(join(t.daemon.root, 'pod-volumes')).filter((d) => d.startsWith('default_hostile_'))).toEqual([]);
  });
});
