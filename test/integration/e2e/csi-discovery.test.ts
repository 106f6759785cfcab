// CSI discovery and the less common lifecycle steps, through the real daemon and CLI:
// a plugin found through the default registration dir (<root>/plugins_registry), a plugin whose
// controller needs ControllerPublishVolume, and `keelson volume expand` reaching NodeExpandVolume.
// The fixture plugin's calls.jsonl shows what keelson asked; mountinfo shows what is left.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { makeTestNetwork, writeNetworkConfig, type TestNetwork } from '../../fixtures/cni.js';
import { startFixturePlugin, type CallRecord, type FixturePlugin } from '../../fixtures/csi-fixture.js';
import { runCli, startKeelson, type KeelsonDaemon } from '../../fixtures/daemon.js';
import { unmountAllUnder } from '../../fixtures/sandbox.js';

const repo = fileURLToPath(new URL('../../..', import.meta.url));
const FIXTURE = join(repo, 'test/fixtures/csi-plugin/keelson-csi-fixture.mjs');
const IMAGE = 'localhost/keelson/demo:latest';
const REG = 'reg.csi.keelson.dev';
const ATTACH = 'attach.csi.keelson.dev';
const NODE_ID = 'keelson-discovery-node';
const Mi = 1024 * 1024;

let base: string;
let daemon: KeelsonDaemon;
let net: TestNetwork;
let env: NodeJS.ProcessEnv;
let attachState: string;
let manifests: string;
let registered: FixturePlugin | undefined;

interface PluginJson {
  name: string;
  endpoint: string;
  source: string;
  healthy: boolean;
  info: { nodeId: string; controllerCapabilities: string[]; nodeCapabilities: string[] } | null;
}

interface VolumeJson {
  name: string;
  volumeId: string;
  capacityBytes: number;
  pods: string[];
  usage: { usedBytes: number; totalBytes: number } | null;
}

function configToml(): string {
  const socket = join(base, 'attach', 'csi.sock');
  // No csi.registration_dir: the default must follow --root.
  return `[csi]
call_timeout_seconds = 5
call_retries = 1
restart_backoff_ms = 200
[csi.plugins."${ATTACH}"]
endpoint = "${socket}"
binary = "${process.execPath}"
args = ["${FIXTURE}", "--endpoint", "unix://${socket}", "--state-dir", "${attachState}", "--name", "${ATTACH}", "--node-id", "${NODE_ID}", "--controller-publish"]
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

function attachCalls(): CallRecord[] {
  const file = join(attachState, 'calls.jsonl');
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8').split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as CallRecord & { node_id?: string; volume_path?: string });
}

/** Successful calls of method on volumeId (in order), from the attach plugin's log. */
function okCalls(method: string, volumeId: string): Array<CallRecord & { node_id?: string; volume_path?: string }> {
  return attachCalls().filter((c) => c.method === method && c.ok && c.volume_id === volumeId);
}

/** Position of the first successful call of method on volumeId in the log. */
function firstIndex(method: string, volumeId: string): number {
  return attachCalls().findIndex((c) => c.method === method && c.ok && c.volume_id === volumeId);
}

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

async function runPod(file: string): Promise<string> {
  const started = JSON.parse(await ok('run', file, '-o', 'json')) as Array<{ name: string }>;
  return started[0]?.name ?? '';
}

async function waitForLog(pod: string, text: string): Promise<void> {
  await waitFor(`pod ${pod} to print ${JSON.stringify(text)}`, async () => ((await cli('logs', `${pod}/main`)).stdout.includes(text) ? true : undefined));
}

async function createVolume(prefix: string, size: string): Promise<VolumeJson> {
  const name = `${prefix}-${randomBytes(3).toString('hex')}`;
  return JSON.parse(await ok('volume', 'create', name, '--driver', ATTACH, '--size', size, '-o', 'json')) as VolumeJson;
}

const claim = (name: string): string => `    - name: data\n      persistentVolumeClaim: { claimName: ${name} }`;

beforeAll(async () => {
  base = join('/tmp', `keelson-csidisc-${randomBytes(4).toString('hex')}`);
  attachState = join(base, 'attach-state');
  await mkdir(join(base, 'attach'), { recursive: true });
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
  const pods = JSON.parse((await cli('pods', '-o', 'json')).stdout || '[]') as Array<{ id: string }>;
  for (const p of pods) await cli('rm', p.id);
});

afterAll(async () => {
  await registered?.stop();
  if (daemon) {
    await daemon.stop();
    unmountAllUnder(base);
    await daemon.destroy();
  }
  net?.cleanup();
});

describe('plugin registration through the default registration dir', () => {
  it('registers a plugin that puts its socket in <root>/plugins_registry, serves its volumes, and drops it when it exits', async () => {
    expect((await plugins()).map((p) => p.name)).not.toContain(REG);
    const regDir = join(daemon.root, 'plugins_registry');
    // The test, not keelson, runs this plugin: it is found only through its registration socket.
    registered = await startFixturePlugin(join(base, 'reg'), ['--registration-dir', regDir, '--name', REG]);
    expect(existsSync(join(regDir, `${REG}-reg.sock`))).toBe(true);

    const listed = await waitFor('the plugin to be registered and healthy', async () => {
      const p = (await plugins()).find((x) => x.name === REG);
      return p?.healthy ? p : undefined;
    });
    expect(listed.source).toBe('registration');
    expect(listed.endpoint).toBe(registered.socket);
    const reg = registered;
    const notified = await waitFor('NotifyRegistrationStatus', () => reg.calls().find((c) => c.method === 'NotifyRegistrationStatus'));
    expect(notified.plugin_registered).toBe(true);
    expect(notified.ok).toBe(true);
    expect(reg.calls().some((c) => c.method === 'GetInfo')).toBe(true);

    const pod = await runPod(await manifest('registered', `    - name: data\n      csi: { driver: ${REG} }`, 'cat /data/hello.txt; sleep 3600'));
    await waitForLog(pod, 'hello from the fixture plugin');
    expect(reg.calls().filter((c) => c.method === 'NodePublishVolume' && c.ok)).toHaveLength(1);
    await ok('rm', pod);
    expect(reg.calls().filter((c) => c.method === 'NodeUnpublishVolume' && c.ok)).toHaveLength(1);
    expect(csiMounts()).toEqual([]);

    expect(await reg.stop()).toBe(0);
    registered = undefined;
    await waitFor('the plugin to be dropped', async () => ((await plugins()).some((p) => p.name === REG) ? undefined : true));
    expect((await plugins()).map((p) => p.name)).toEqual([ATTACH]);
  });
});

describe('a plugin whose controller publishes volumes to nodes', () => {
  it('ControllerPublish before stage and publish, ControllerUnpublish after unstage, once each', async () => {
    const attach = (await plugins()).find((p) => p.name === ATTACH);
    expect(attach?.healthy).toBe(true);
    expect(attach?.info?.controllerCapabilities).toContain('PUBLISH_UNPUBLISH_VOLUME');
    expect(attach?.info?.nodeId).toBe(NODE_ID);

    const vol = await createVolume('attached', '16Mi');
    const id = vol.volumeId;
    const pod = await runPod(await manifest('attached', claim(vol.name), 'echo attached-ok > /data/f; cat /data/f; sleep 3600'));
    await waitForLog(pod, 'attached-ok');
    const published = okCalls('ControllerPublishVolume', id);
    expect(published).toHaveLength(1);
    expect(published[0]?.node_id).toBe(NODE_ID);
    expect(okCalls('NodeStageVolume', id)).toHaveLength(1);
    expect(okCalls('NodePublishVolume', id)).toHaveLength(1);
    expect(firstIndex('ControllerPublishVolume', id)).toBeLessThan(firstIndex('NodeStageVolume', id));
    expect(firstIndex('NodeStageVolume', id)).toBeLessThan(firstIndex('NodePublishVolume', id));
    // The plugin's own record says which nodes the volume is attached to.
    const record = (): { published_nodes: string[] } => JSON.parse(readFileSync(join(attachState, 'volumes', `${id}.json`), 'utf8')) as { published_nodes: string[] };
    expect(record().published_nodes).toEqual([NODE_ID]);
    expect(readFileSync(join(attachState, 'volumes', id, 'f'), 'utf8')).toBe('attached-ok\n');

    await ok('rm', pod);
    expect(okCalls('NodeUnpublishVolume', id)).toHaveLength(1);
    expect(okCalls('NodeUnstageVolume', id)).toHaveLength(1);
    const unpublished = okCalls('ControllerUnpublishVolume', id);
    expect(unpublished).toHaveLength(1);
    expect(unpublished[0]?.node_id).toBe(NODE_ID);
    expect(firstIndex('NodeUnpublishVolume', id)).toBeLessThan(firstIndex('NodeUnstageVolume', id));
    expect(firstIndex('NodeUnstageVolume', id)).toBeLessThan(firstIndex('ControllerUnpublishVolume', id));
    expect(okCalls('ControllerPublishVolume', id)).toHaveLength(1);
    expect(record().published_nodes).toEqual([]);
    expect(csiMounts()).toEqual([]);

    await ok('volume', 'rm', vol.name);
    expect(okCalls('DeleteVolume', id)).toHaveLength(1);
  });
});

describe('volume expand', () => {
  it('grows a volume in use through NodeExpandVolume, shows the new size and usage total, and refuses to shrink', async () => {
    const vol = await createVolume('grow', '64Mi');
    expect(vol.capacityBytes).toBe(64 * Mi);
    const id = vol.volumeId;
    const pod = await runPod(await manifest('grower', claim(vol.name), 'echo in-use; sleep 3600'));
    await waitForLog(pod, 'in-use');
    const before = (await volumes()).find((v) => v.name === vol.name);
    expect(before?.usage?.totalBytes).toBe(64 * Mi);
    expect(okCalls('NodeExpandVolume', id)).toHaveLength(0);

    expect(await ok('volume', 'expand', vol.name, '--size', '128Mi')).toContain(`volume ${vol.name} is now 128Mi`);
    const expanded = okCalls('NodeExpandVolume', id);
    expect(expanded).toHaveLength(1);
    // Expanded where the pod has it mounted.
    const target = okCalls('NodePublishVolume', id)[0]?.target_path;
    expect(target).toBeTruthy();
    expect(expanded[0]?.volume_path).toBe(target);
    const after = (await volumes()).find((v) => v.name === vol.name);
    expect(after?.capacityBytes).toBe(128 * Mi);
    expect(after?.pods).toEqual([`default/grower`]);
    // The usage total is the plugin's own answer (NodeGetVolumeStats), so it shows the plugin grew it.
    expect(after?.usage?.totalBytes).toBe(128 * Mi);

    for (const size of ['32Mi', '128Mi']) {
      const refused = await cli('volume', 'expand', vol.name, '--size', size);
      expect(refused.code).not.toBe(0);
      expect(refused.stderr).toMatch(new RegExp(`new size ${size === '32Mi' ? 32 * Mi : 128 * Mi} of volume "${vol.name}" must be larger than its ${128 * Mi} bytes`));
    }
    expect(okCalls('NodeExpandVolume', id)).toHaveLength(1);
    expect((await volumes()).find((v) => v.name === vol.name)?.capacityBytes).toBe(128 * Mi);

    const missing = await cli('volume', 'expand', 'no-such-volume', '--size', '1Gi');
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toMatch(/volume "no-such-volume" does not exist/);

    await ok('rm', pod);
    expect(csiMounts()).toEqual([]);
    await ok('volume', 'rm', vol.name);
  });

  it('grows a volume mounted nowhere on the node at its next publish, as kubelet does', async () => {
    const vol = await createVolume('later', '64Mi');
    expect(await ok('volume', 'expand', vol.name, '--size', '96Mi')).toContain('is now 96Mi');
    // Not mounted: the plugin can only grow it on the node, so nothing is called yet.
    expect(okCalls('NodeExpandVolume', vol.volumeId)).toHaveLength(0);
    const pod = await runPod(await manifest('late-grower', claim(vol.name), 'echo mounted; sleep 3600'));
    await waitForLog(pod, 'mounted');
    const expanded = okCalls('NodeExpandVolume', vol.volumeId);
    expect(expanded).toHaveLength(1);
    expect(expanded[0]?.volume_path).toBe(okCalls('NodePublishVolume', vol.volumeId)[0]?.target_path);
    expect((await volumes()).find((v) => v.name === vol.name)?.usage?.totalBytes).toBe(96 * Mi);
    await ok('rm', pod);
    // Owed once: a second pod does not expand again.
    const again = await runPod(await manifest('late-again', claim(vol.name), 'echo mounted; sleep 3600'));
    await waitForLog(again, 'mounted');
    expect(okCalls('NodeExpandVolume', vol.volumeId)).toHaveLength(1);
    await ok('rm', again);
    await ok('volume', 'rm', vol.name);
  });
});
