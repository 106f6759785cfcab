// CSI discovery and the less common lifecycle steps, through the real daemon and CLI:
// a plugin found through the default registration dir (<root>/plugins_registry), a plugin whose
// controller needs ControllerPublishVolume, and `keelson volume expand` reaching NodeExpandVolume.
// The fixture plugin's calls.jsonl shows what keelson asked; mountinfo shows what is left.
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { claim, CsiCliEnv, FAST_CSI_TOML, fixturePluginToml, readCalls } from '../../fixtures/csi-e2e.js';
import { startFixturePlugin, type CallRecord, type FixturePlugin } from '../../fixtures/csi-fixture.js';
import { waitFor } from '../../fixtures/wait.js';

const REG = 'reg.csi.keelson.dev';
const ATTACH = 'attach.csi.keelson.dev';
const NODE_ID = 'keelson-discovery-node';
const Mi = 1024 * 1024;

let t: CsiCliEnv;
let attachState: string;
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

type AttachCall = CallRecord & { node_id?: string; volume_path?: string };

// No csi.registration_dir: the default must follow --root.
const configToml = (base: string): string => FAST_CSI_TOML + fixturePluginToml(ATTACH, join(base, 'attach'), ['--node-id', NODE_ID, '--controller-publish']);

/** Successful calls of method on volumeId (in order), from the attach plugin's log. */
function okCalls(method: string, volumeId: string): AttachCall[] {
  return readCalls(attachState).filter((c) => c.method === method && c.ok && c.volume_id === volumeId);
}

/** Position of the first successful call of method on volumeId in the log. */
function firstIndex(method: string, volumeId: string): number {
  return readCalls(attachState).findIndex((c) => c.method === method && c.ok && c.volume_id === volumeId);
}

const plugins = (): Promise<PluginJson[]> => t.json<PluginJson[]>('plugins');
const volumes = (): Promise<VolumeJson[]> => t.json<VolumeJson[]>('volume', 'ls');

async function createVolume(prefix: string, size: string): Promise<VolumeJson> {
  return t.json<VolumeJson>('volume', 'create', `${prefix}-${randomBytes(3).toString('hex')}`, '--driver', ATTACH, '--size', size);
}

beforeAll(async () => {
  t = await CsiCliEnv.start('keelson-csidisc', (base) => configToml(base));
  attachState = join(t.base, 'attach', 'state');
}, 120_000);

afterEach(async () => {
  await t.removeAllPods();
});

afterAll(async () => {
  await registered?.stop();
  await t?.destroy();
});

describe('plugin registration through the default registration dir', () => {
  it('registers a plugin that puts its socket in <root>/plugins_registry, serves its volumes, and drops it when it exits', async () => {
    expect((await plugins()).map((p) => p.name)).not.toContain(REG);
    const regDir = join(t.daemon.root, 'plugins_registry');
    // The test, not keelson, runs this plugin: it is found only through its registration socket.
    registered = await startFixturePlugin(join(t.base, 'reg'), ['--registration-dir', regDir, '--name', REG]);
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

    const pod = await t.runPod(await t.manifest('registered', `    - name: data\n      csi: { driver: ${REG} }`, 'cat /data/hello.txt; sleep 3600'));
    await t.waitForLog(pod, 'hello from the fixture plugin');
    expect(reg.calls().filter((c) => c.method === 'NodePublishVolume' && c.ok)).toHaveLength(1);
    await t.ok('rm', pod);
    expect(reg.calls().filter((c) => c.method === 'NodeUnpublishVolume' && c.ok)).toHaveLength(1);
    expect(t.csiMounts()).toEqual([]);

    expect(await reg.stop()).toBe(0);
    registered = undefined;
    await waitFor('the plugin to be dropped', async () => ((await plugins()).some((p) => p.name === REG) ? undefined : true));
    expect((await plugins()).map((p) => p.name)).toEqual([ATTACH]);
  });
});

describe('a plugin whose controller publishes volumes to nodes', () => {
  it('ControllerPublish before stage and publish, ControllerUnpublish after unstage, once each', async () => {
    const attach = await waitFor('the attach plugin to be started and probed', async () => (await plugins()).find((p) => p.name === ATTACH && p.healthy));
    expect(attach.healthy).toBe(true);
    expect(attach?.info?.controllerCapabilities).toContain('PUBLISH_UNPUBLISH_VOLUME');
    expect(attach?.info?.nodeId).toBe(NODE_ID);

    const vol = await createVolume('attached', '16Mi');
    const id = vol.volumeId;
    const pod = await t.runPod(await t.manifest('attached', claim(vol.name), 'echo attached-ok > /data/f; cat /data/f; sleep 3600'));
    await t.waitForLog(pod, 'attached-ok');
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

    await t.ok('rm', pod);
    expect(okCalls('NodeUnpublishVolume', id)).toHaveLength(1);
    expect(okCalls('NodeUnstageVolume', id)).toHaveLength(1);
    const unpublished = okCalls('ControllerUnpublishVolume', id);
    expect(unpublished).toHaveLength(1);
    expect(unpublished[0]?.node_id).toBe(NODE_ID);
    expect(firstIndex('NodeUnpublishVolume', id)).toBeLessThan(firstIndex('NodeUnstageVolume', id));
    expect(firstIndex('NodeUnstageVolume', id)).toBeLessThan(firstIndex('ControllerUnpublishVolume', id));
    expect(okCalls('ControllerPublishVolume', id)).toHaveLength(1);
    expect(record().published_nodes).toEqual([]);
    expect(t.csiMounts()).toEqual([]);

    await t.ok('volume', 'rm', vol.name);
    expect(okCalls('DeleteVolume', id)).toHaveLength(1);
  });
});

describe('volume expand', () => {
  it('grows a volume in use through NodeExpandVolume, shows the new size and usage total, and refuses to shrink', async () => {
    const vol = await createVolume('grow', '64Mi');
    expect(vol.capacityBytes).toBe(64 * Mi);
    const id = vol.volumeId;
    const pod = await t.runPod(await t.manifest('grower', claim(vol.name), 'echo in-use; sleep 3600'));
    await t.waitForLog(pod, 'in-use');
    const before = (await volumes()).find((v) => v.name === vol.name);
    expect(before?.usage?.totalBytes).toBe(64 * Mi);
    expect(okCalls('NodeExpandVolume', id)).toHaveLength(0);

    expect(await t.ok('volume', 'expand', vol.name, '--size', '128Mi')).toContain(`volume ${vol.name} is now 128Mi`);
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
      const refused = await t.cli('volume', 'expand', vol.name, '--size', size);
      expect(refused.code).not.toBe(0);
      expect(refused.stderr).toMatch(new RegExp(`new size ${size === '32Mi' ? 32 * Mi : 128 * Mi} of volume "${vol.name}" must be larger than its ${128 * Mi} bytes`));
    }
    expect(okCalls('NodeExpandVolume', id)).toHaveLength(1);
    expect((await volumes()).find((v) => v.name === vol.name)?.capacityBytes).toBe(128 * Mi);

    const missing = await t.cli('volume', 'expand', 'no-such-volume', '--size', '1Gi');
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toMatch(/volume "no-such-volume" does not exist/);

    await t.ok('rm', pod);
    expect(t.csiMounts()).toEqual([]);
    await t.ok('volume', 'rm', vol.name);
  });

  it('grows a volume mounted nowhere on the node at its next publish, as kubelet does', async () => {
    const vol = await createVolume('later', '64Mi');
    expect(await t.ok('volume', 'expand', vol.name, '--size', '96Mi')).toContain('is now 96Mi');
    // Not mounted: the plugin can only grow it on the node, so nothing is called yet.
    expect(okCalls('NodeExpandVolume', vol.volumeId)).toHaveLength(0);
    const pod = await t.runPod(await t.manifest('late-grower', claim(vol.name), 'echo mounted; sleep 3600'));
    await t.waitForLog(pod, 'mounted');
    const expanded = okCalls('NodeExpandVolume', vol.volumeId);
    expect(expanded).toHaveLength(1);
    expect(expanded[0]?.volume_path).toBe(okCalls('NodePublishVolume', vol.volumeId)[0]?.target_path);
    expect((await volumes()).find((v) => v.name === vol.name)?.usage?.totalBytes).toBe(96 * Mi);
    await t.ok('rm', pod);
    // Owed once: a second pod does not expand again.
    const again = await t.runPod(await t.manifest('late-again', claim(vol.name), 'echo mounted; sleep 3600'));
    await t.waitForLog(again, 'mounted');
    expect(okCalls('NodeExpandVolume', vol.volumeId)).toHaveLength(1);
    await t.ok('rm', again);
    await t.ok('volume', 'rm', vol.name);
  });
});
