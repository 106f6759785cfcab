// CSI volumes end to end: the daemon starts the fixture CSI plugin (test/fixtures/csi-plugin)
// as a plugin binary, and `keelson run` pods use inline ephemeral volumes and named volumes
// (`keelson volume create`). The plugin's call log (calls.jsonl) and backing store show what
// keelson asked for; /proc/self/mountinfo shows that nothing is left mounted.
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { makeTestNetwork, writeNetworkConfig, type TestNetwork } from '../../fixtures/cni.js';
import { CLI_PATH, runCli, startKeelson, type KeelsonDaemon } from '../../fixtures/daemon.js';
import { unmountAllUnder } from '../../fixtures/sandbox.js';

const repo = fileURLToPath(new URL('../../..', import.meta.url));
const FIXTURE = join(repo, 'test/fixtures/csi-plugin/keelson-csi-fixture.mjs');
const IMAGE = 'localhost/keelson/demo:latest';
const DRIVER = 'fixture.csi.keelson.dev';

let base: string;
let daemon: KeelsonDaemon;
let net: TestNetwork;
let env: NodeJS.ProcessEnv;
let pluginState: string;
let manifests: string;

interface Call {
  method: string;
  volume_id?: string;
  target_path?: string;
  staging_target_path?: string;
  ok?: boolean;
}

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
  usage: { usedBytes: number; totalBytes: number; availableBytes: number } | null;
  usageNote: string;
}

function configToml(): string {
  return `[csi]
call_timeout_seconds = 5
call_retries = 1
restart_backoff_ms = 200
[csi.plugins."${DRIVER}"]
endpoint = "${join(base, 'plugin', 'csi.sock')}"
binary = "${process.execPath}"
args = ["${FIXTURE}", "--endpoint", "unix://${join(base, 'plugin', 'csi.sock')}", "--state-dir", "${pluginState}"]
[csi.plugins."ghost.csi.keelson.dev"]
endpoint = "${join(base, 'nobody-listens.sock')}"
`;
}

async function cli(...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return runCli(args, env);
}

async function ok(...args: string[]): Promise<string> {
  const r = await cli(...args);
  if (r.code !== 0) throw new Error(`keelson ${args.join(' ')} failed (${r.code}):\n${r.stderr}\n${r.stdout}`);
  return r.stdout;
}

function calls(): Call[] {
  const file = join(pluginState, 'calls.jsonl');
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8').split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as Call);
}

function count(method: string, volumeId?: string): number {
  return calls().filter((c) => c.method === method && c.ok !== false && (volumeId === undefined || c.volume_id === volumeId)).length;
}

/** Mount points under the daemon's CSI dir (staging and publish targets). */
function csiMounts(): string[] {
  const prefix = join(daemon.root, 'csi');
  return readFileSync('/proc/self/mountinfo', 'utf8').split('\n').map((l) => l.split(' ')[4] ?? '').filter((p) => p.startsWith(prefix));
}

async function plugins(): Promise<PluginJson[]> {
  return JSON.parse(await ok('plugins', '-o', 'json')) as PluginJson[];
}

async function volumes(): Promise<VolumeJson[]> {
  return JSON.parse(await ok('volume', 'ls', '-o', 'json')) as VolumeJson[];
}

async function waitFor<T>(what: string, fn: () => Promise<T | undefined> | T | undefined, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function manifest(name: string, volumesYaml: string, command: string): Promise<string> {
  const path = join(manifests, `${name}-${randomBytes(3).toString('hex')}.yaml`);
  await writeFile(path, `
apiVersion: v1
kind: Pod
metadata: { name: ${name} }
spec:
  restartPolicy: Never
  containers:
    - name: main
      image: ${IMAGE}
      command: ["sh", "-c", ${JSON.stringify(command)}]
      volumeMounts: [{ name: data, mountPath: /data }]
  volumes:
${volumesYaml}
`);
  return path;
}

/** Runs a pod; answers its name (which `logs NAME/main` and `rm NAME` take). */
async function runPod(file: string): Promise<string> {
  const started = JSON.parse(await ok('run', file, '-o', 'json')) as Array<{ name: string }>;
  return started[0]?.name ?? '';
}

async function logsOf(pod: string): Promise<string> {
  return (await cli('logs', `${pod}/main`)).stdout;
}

beforeAll(async () => {
  base = join('/tmp', `keelson-csi-${randomBytes(4).toString('hex')}`);
  pluginState = join(base, 'plugin-state');
  await mkdir(join(base, 'plugin'), { recursive: true });
  daemon = await startKeelson({ base, configToml: configToml() });
  net = makeTestNetwork(daemon.base);
  await writeNetworkConfig(daemon.cniConfDir, net);
  manifests = join(base, 'manifests');
  await mkdir(manifests, { recursive: true });
  env = { KEELSON_SOCKET: daemon.socket, KEELSON_ROOT: daemon.root, KEELSON_LOG_ROOT: join(base, 'pod-logs') };
  const layout = join(base, 'demo-image');
  execFileSync(join(repo, 'scripts/build-demo-image.sh'), [layout], { stdio: 'ignore' });
  await ok('image', 'import', layout);
}, 120_000);

afterEach(async () => {
  await rm(join(pluginState, 'fail'), { recursive: true, force: true });
  await rm(join(pluginState, 'hang'), { recursive: true, force: true });
  const pods = JSON.parse((await cli('pods', '-o', 'json')).stdout || '[]') as Array<{ id: string }>;
  for (const p of pods) await cli('rm', p.id);
});

afterAll(async () => {
  if (daemon) {
    await daemon.stop();
    unmountAllUnder(base);
    await daemon.destroy();
  }
  net?.cleanup();
});

describe('CSI plugins', () => {
  it('starts the configured plugin binary and lists it with capabilities and health; an unreachable plugin shows why', async () => {
    const list = await plugins();
    const fixture = list.find((p) => p.name === DRIVER);
    expect(fixture?.healthy).toBe(true);
    expect(fixture?.process?.running).toBe(true);
    expect(fixture?.info?.nodeCapabilities).toEqual(expect.arrayContaining(['STAGE_UNSTAGE_VOLUME', 'GET_VOLUME_STATS']));
    expect(fixture?.info?.controllerCapabilities).toContain('CREATE_DELETE_VOLUME');
    const ghost = list.find((p) => p.name === 'ghost.csi.keelson.dev');
    expect(ghost?.healthy).toBe(false);
    expect(ghost?.lastError).toMatch(/not reachable|UNAVAILABLE/);
    const table = await ok('plugins');
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
    const file = await manifest('after-restart', `    - name: data\n      csi: { driver: ${DRIVER} }`, 'cat /data/hello.txt; sleep 3600');
    const pod = await runPod(file);
    await waitFor('the pod to read the plugin file', async () => ((await logsOf(pod)).includes('hello') ? true : undefined));
    await ok('rm', pod);
  });
});

describe('inline ephemeral CSI volumes', () => {
  it('publishes into the pod: the plugin file is seen, writes land in the backing store, and rm unpublishes', async () => {
    const file = await manifest('inline', `    - name: data
      csi:
        driver: ${DRIVER}
        volumeAttributes: { greeting: "greetings from volumeAttributes\\n" }`,
    'cat /data/hello.txt; echo written-by-pod > /data/out.txt; sleep 3600');
    const pod = await runPod(file);
    await waitFor('the pod to print the plugin file', async () => ((await logsOf(pod)).includes('greetings from volumeAttributes') ? true : undefined));
    const publish = calls().filter((c) => c.method === 'NodePublishVolume' && c.ok !== false).at(-1);
    const volumeId = publish?.volume_id ?? '';
    expect(volumeId).toMatch(/^csi-[0-9a-f]{64}$/);
    // Ephemeral volumes are published only, never staged (as kubelet does).
    expect(count('NodeStageVolume', volumeId)).toBe(0);
    const backing = join(pluginState, 'ephemeral', volumeId, 'out.txt');
    await waitFor('the write to reach the backing store', () => (existsSync(backing) ? true : undefined));
    expect(readFileSync(backing, 'utf8')).toBe('written-by-pod\n');
    expect(csiMounts().some((m) => m === publish?.target_path)).toBe(true);

    await ok('rm', pod);
    expect(count('NodeUnpublishVolume', volumeId)).toBe(1);
    expect(csiMounts()).toEqual([]);
    expect(existsSync(join(daemon.root, 'csi', 'pods'))).toBe(true);
    expect(readdirSync(join(daemon.root, 'csi', 'pods'))).toEqual([]);
    expect(readFileSync(backing, 'utf8')).toBe('written-by-pod\n');
  });

  it('refuses a pod whose plugin is unreachable, and leaves no pod and no mount behind', async () => {
    const file = await manifest('ghostly', '    - name: data\n      csi: { driver: ghost.csi.keelson.dev }', 'sleep 3600');
    const r = await cli('run', file);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/ghost\.csi\.keelson\.dev.*(not healthy|not reachable)/);
    expect(JSON.parse(await ok('pods', '-o', 'json'))).toEqual([]);
    expect(csiMounts()).toEqual([]);
    const unknown = await manifest('nodriver', '    - name: data\n      csi: { driver: no.such.driver }', 'sleep 3600');
    const r2 = await cli('run', unknown);
    expect(r2.stderr).toMatch(/no CSI plugin named "no\.such\.driver"/);
  });
});

describe('named volumes', () => {
  it('stages once for two pods, unstages after the last, survives its pods, and shows usage from NodeGetVolumeStats', async () => {
    const name = `data-${randomBytes(3).toString('hex')}`;
    const created = JSON.parse(await ok('volume', 'create', name, '--driver', DRIVER, '--size', '64Mi', '-o', 'json')) as VolumeJson;
    expect(created.capacityBytes).toBe(64 * 1024 * 1024);
    const volumeId = created.volumeId;
    expect(count('CreateVolume')).toBeGreaterThanOrEqual(1);
    const claim = `    - name: data\n      persistentVolumeClaim: { claimName: ${name} }`;

    const writer = await runPod(await manifest('writer', claim, 'dd if=/dev/zero of=/data/blob bs=1024 count=2048 2>/dev/null; echo kept > /data/marker; echo wrote; sleep 3600'));
    await waitFor('the writer to write', async () => ((await logsOf(writer)).includes('wrote') ? true : undefined));
    const reader = await runPod(await manifest('reader', claim, 'cat /data/marker; sleep 3600'));
    await waitFor('the reader to read', async () => ((await logsOf(reader)).includes('kept') ? true : undefined));
    expect(count('NodeStageVolume', volumeId)).toBe(1);
    expect(count('NodePublishVolume', volumeId)).toBe(2);

    const listed = (await volumes()).find((v) => v.name === name);
    expect(listed?.pods.sort()).toEqual(['default/reader', 'default/writer']);
    expect(listed?.staged).toBe(true);
    expect(listed?.usage?.usedBytes).toBeGreaterThanOrEqual(2 * 1024 * 1024);
    expect(listed?.usage?.totalBytes).toBe(64 * 1024 * 1024);
    expect(count('NodeGetVolumeStats', volumeId)).toBeGreaterThanOrEqual(1);
    expect(await ok('volume', 'ls')).toMatch(new RegExp(`${name}\\s+${DRIVER.replaceAll('.', '\\.')}\\s+64Mi\\s+2\\.0Mi`));

    const busy = await cli('volume', 'rm', name);
    expect(busy.code).not.toBe(0);
    expect(busy.stderr).toMatch(/in use by pods? .*default\/(reader|writer)/);

    await ok('rm', writer);
    expect(count('NodeUnstageVolume', volumeId)).toBe(0);
    await ok('rm', reader);
    expect(count('NodeUnstageVolume', volumeId)).toBe(1);
    expect(csiMounts()).toEqual([]);
    expect((await volumes()).find((v) => v.name === name)?.usageNote).toBe('not mounted');

    // The data outlives both pods; a third pod sees it (and stages anew).
    const later = await runPod(await manifest('later', claim, 'cat /data/marker; sleep 3600'));
    await waitFor('the later pod to read', async () => ((await logsOf(later)).includes('kept') ? true : undefined));
    expect(count('NodeStageVolume', volumeId)).toBe(2);
    await ok('rm', later);

    await ok('volume', 'rm', name);
    expect(count('DeleteVolume', volumeId)).toBe(1);
    expect((await volumes()).find((v) => v.name === name)).toBeUndefined();
    expect(existsSync(join(pluginState, 'volumes', volumeId))).toBe(false);
  });

  it('a failing NodePublishVolume fails the pod and leaves nothing staged, mounted or running', async () => {
    const name = `flaky-${randomBytes(3).toString('hex')}`;
    const volumeId = (JSON.parse(await ok('volume', 'create', name, '--driver', DRIVER, '--size', '8Mi', '-o', 'json')) as VolumeJson).volumeId;
    await mkdir(join(pluginState, 'fail'), { recursive: true });
    await writeFile(join(pluginState, 'fail', 'NodePublishVolume'), 'INTERNAL');
    const r = await cli('run', await manifest('doomed', `    - name: data\n      persistentVolumeClaim: { claimName: ${name} }`, 'sleep 3600'));
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/NodePublishVolume.*injected failure/);
    expect(count('NodeStageVolume', volumeId)).toBe(1);
    expect(count('NodeUnstageVolume', volumeId)).toBe(1);
    expect(csiMounts()).toEqual([]);
    expect(JSON.parse(await ok('pods', '-o', 'json'))).toEqual([]);
    const v = (await volumes()).find((x) => x.name === name);
    expect(v?.pods).toEqual([]);
    expect(v?.staged).toBe(false);
    await ok('volume', 'rm', name);
  });

  it('refuses bad names and sizes, and a claim naming no volume, changing nothing', async () => {
    const bad = await cli('volume', 'create', 'Bad_Name', '--driver', DRIVER);
    expect(bad.stderr).toMatch(/volume name "Bad_Name"/);
    const size = await cli('volume', 'create', 'ok-name', '--driver', DRIVER, '--size', 'lots');
    expect(size.code).not.toBe(0);
    const missing = await cli('run', await manifest('noclaim', '    - name: data\n      persistentVolumeClaim: { claimName: nope }', 'sleep 3600'));
    expect(missing.stderr).toMatch(/volume "nope" .*does not exist/);
    expect(JSON.parse(await ok('pods', '-o', 'json'))).toEqual([]);
    expect((await volumes()).map((v) => v.name)).not.toContain('ok-name');
  });
});

describe('daemon restart', () => {
  it('undoes a publish that was in flight when the daemon was killed', async () => {
    const name = `restart-${randomBytes(3).toString('hex')}`;
    const volumeId = (JSON.parse(await ok('volume', 'create', name, '--driver', DRIVER, '--size', '8Mi', '-o', 'json')) as VolumeJson).volumeId;
    await mkdir(join(pluginState, 'hang'), { recursive: true });
    await writeFile(join(pluginState, 'hang', 'NodePublishVolume'), '');
    const file = await manifest('interrupted', `    - name: data\n      persistentVolumeClaim: { claimName: ${name} }`, 'sleep 3600');
    const run = spawn(process.execPath, [CLI_PATH, 'run', file], { env: { ...process.env, ...env }, stdio: 'ignore' });
    const runExit = new Promise((r) => run.once('exit', r));
    await waitFor('the volume to be staged', () => (count('NodeStageVolume', volumeId) === 1 ? true : undefined));
    await waitFor('a publish target dir', () => (readdirSync(join(daemon.root, 'csi', 'pods')).length > 0 ? true : undefined));
    await new Promise((r) => setTimeout(r, 300));
    await daemon.kill();
    await runExit;
    await rm(join(pluginState, 'hang'), { recursive: true, force: true });
    daemon = await startKeelson({ base, configToml: configToml() });
    await waitFor('the half-done publish to be undone', () => (count('NodeUnstageVolume', volumeId) === 1 ? true : undefined));
    expect(count('NodeUnpublishVolume', volumeId)).toBeGreaterThanOrEqual(1);
    expect(csiMounts()).toEqual([]);
    expect(readdirSync(join(daemon.root, 'csi', 'pods'))).toEqual([]);
    const v = (await volumes()).find((x) => x.name === name);
    expect(v?.pods).toEqual([]);
    await ok('volume', 'rm', name);
  });
});
