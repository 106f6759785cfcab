// The fixture CSI plugin, driven directly over its socket the way a CO drives a plugin: the
// volume lifecycle with real bind mounts, ephemeral inline volumes, the call log and failpoints.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type {
  CreateVolumeResponse, GetPluginInfoResponse, NodeGetCapabilitiesResponse, NodeGetVolumeStatsResponse,
  ControllerGetCapabilitiesResponse, NodeExpandVolumeResponse, VolumeCapability, ControllerPublishVolumeResponse,
} from '../../../src/csi/generated/csi-types.js';
import { csiClients, startFixturePlugin, unary, type CsiClients, type FixturePlugin } from '../../fixtures/csi-fixture.js';
import { grpcError } from '../../fixtures/grpc.js';
import { mountsUnder, unmountAllUnder } from '../../fixtures/sandbox.js';

const MOUNT: VolumeCapability = { mount: { fs_type: '', mount_flags: [] }, access_mode: { mode: 'SINGLE_NODE_WRITER' } };
const MiB = 1024 * 1024;

function isMounted(path: string): boolean {
  return mountsUnder(path).includes(path);
}

/** A fixture plugin with its own temp dir, clients, and cleanup. */
function pluginFor(name: string, args: string[] = []): { dir: () => string; plugin: () => FixturePlugin; c: () => CsiClients } {
  let dir = '';
  let plugin: FixturePlugin | undefined;
  let clients: CsiClients | undefined;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), `keelson-csi-${name}-`));
    plugin = await startFixturePlugin(dir, args);
    clients = csiClients(plugin.socket);
  });
  afterAll(async () => {
    clients?.close();
    if (plugin) expect(await plugin.stop()).toBe(0);
    if (dir) {
      unmountAllUnder(dir);
      rmSync(dir, { recursive: true, force: true });
    }
  });
  const need = <T>(v: T | undefined): T => {
    if (v === undefined) throw new Error('beforeAll did not run');
    return v;
  };
  return { dir: () => dir, plugin: () => need(plugin), c: () => need(clients) };
}

describe.skipIf(process.getuid?.() !== 0)('fixture CSI plugin', () => {
  const f = pluginFor('plugin');

  it('answers Identity, capabilities and NodeGetInfo', async () => {
    const { identity, controller, node } = f.c();
    const info = await unary<GetPluginInfoResponse>(identity, 'GetPluginInfo', {});
    expect(info).toMatchObject({ name: 'fixture.csi.keelson.dev', vendor_version: '0.1.0' });
    expect(await unary(identity, 'Probe', {})).toMatchObject({ ready: { value: true } });
    const cc = await unary<ControllerGetCapabilitiesResponse>(controller, 'ControllerGetCapabilities', {});
    expect(cc.capabilities?.map((c) => c.rpc?.type)).toEqual(['CREATE_DELETE_VOLUME']);
    const nc = await unary<NodeGetCapabilitiesResponse>(node, 'NodeGetCapabilities', {});
    expect(nc.capabilities?.map((c) => c.rpc?.type)).toEqual(['STAGE_UNSTAGE_VOLUME', 'GET_VOLUME_STATS', 'EXPAND_VOLUME', 'VOLUME_CONDITION']);
    expect(await unary(node, 'NodeGetInfo', {})).toMatchObject({ max_volumes_per_node: '0' });
  });

  it('creates, stages, publishes, measures, expands, unpublishes, unstages and deletes a volume', async () => {
    const { controller, node } = f.c();
    const state = f.plugin().stateDir;
    const name = `pvc-${Date.now()}`;
    const create = { name, capacity_range: { required_bytes: String(10 * MiB) }, volume_capabilities: [MOUNT] };
    const { volume } = await unary<CreateVolumeResponse>(controller, 'CreateVolume', create);
    const id = volume?.volume_id ?? '';
    expect(id).toMatch(/^vol-[0-9a-f]+$/);
    expect(volume).toMatchObject({ capacity_bytes: String(10 * MiB), volume_context: { createdBy: 'fixture' } });
    expect((await unary<CreateVolumeResponse>(controller, 'CreateVolume', create)).volume?.volume_id).toBe(id);
    const other = { ...create, capacity_range: { required_bytes: String(20 * MiB) } };
    expect((await grpcError(unary(controller, 'CreateVolume', other))).code).toBe(grpc.status.ALREADY_EXISTS);
    expect((await grpcError(unary(controller, 'CreateVolume', { volume_capabilities: [MOUNT] }))).code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(existsSync(join(state, 'volumes', id))).toBe(true);

    const staging = join(f.dir(), 'staging', id);
    const stage = { volume_id: id, staging_target_path: staging, volume_capability: MOUNT };
    const missing = await grpcError(unary(node, 'NodeStageVolume', stage));
    expect(missing.code).toBe(grpc.status.FAILED_PRECONDITION);
    expect(missing.details).toContain(staging);
    expect((await grpcError(unary(node, 'NodeStageVolume', { ...stage, volume_id: 'vol-nope' }))).code).toBe(grpc.status.NOT_FOUND);
    mkdirSync(staging, { recursive: true });
    await unary(node, 'NodeStageVolume', stage);
    await unary(node, 'NodeStageVolume', stage); // idempotent
    expect(mountsUnder(staging)).toEqual([staging]);

    const parent = join(f.dir(), 'pods', 'uid1');
    mkdirSync(parent, { recursive: true });
    const target = join(parent, 'mount');
    const publish = { volume_id: id, staging_target_path: staging, target_path: target, volume_capability: MOUNT, readonly: false };
    const noParent = await grpcError(unary(node, 'NodePublishVolume', { ...publish, target_path: join(f.dir(), 'nope', 'mount') }));
    expect(noParent.code).toBe(grpc.status.FAILED_PRECONDITION);
    await unary(node, 'NodePublishVolume', publish);
    await unary(node, 'NodePublishVolume', publish); // idempotent
    expect(mountsUnder(target)).toEqual([target]);

    const data = Buffer.alloc(64 * 1024, 7);
    writeFileSync(join(target, 'data.bin'), data);
    expect(readFileSync(join(state, 'volumes', id, 'data.bin'))).toEqual(data);

    const stats = await unary<NodeGetVolumeStatsResponse>(node, 'NodeGetVolumeStats', { volume_id: id, volume_path: target });
    const bytes = stats.usage?.find((u) => u.unit === 'BYTES');
    expect(Number(bytes?.used)).toBeGreaterThanOrEqual(data.length);
    expect(bytes?.total).toBe(String(10 * MiB));
    expect(Number(bytes?.available)).toBe(10 * MiB - Number(bytes?.used));
    expect(Number(stats.usage?.find((u) => u.unit === 'INODES')?.used)).toBeGreaterThanOrEqual(1);
    const notMounted = await grpcError(unary(node, 'NodeGetVolumeStats', { volume_id: id, volume_path: parent }));
    expect(notMounted.code).toBe(grpc.status.NOT_FOUND);

    const expand = { volume_id: id, volume_path: target, capacity_range: { required_bytes: String(30 * MiB) } };
    expect((await unary<NodeExpandVolumeResponse>(node, 'NodeExpandVolume', expand)).capacity_bytes).toBe(String(30 * MiB));

    await unary(node, 'NodeUnpublishVolume', { volume_id: id, target_path: target });
    expect(existsSync(target)).toBe(false);
    expect(mountsUnder(parent)).toEqual([]);
    await unary(node, 'NodeUnpublishVolume', { volume_id: id, target_path: target }); // already gone: OK

    await unary(node, 'NodeUnstageVolume', { volume_id: id, staging_target_path: staging });
    expect(isMounted(staging)).toBe(false);
    expect(existsSync(staging)).toBe(true); // the CO's dir
    await unary(node, 'NodeUnstageVolume', { volume_id: id, staging_target_path: staging });

    await unary(controller, 'DeleteVolume', { volume_id: id });
    expect(existsSync(join(state, 'volumes', id))).toBe(false);
    await unary(controller, 'DeleteVolume', { volume_id: id }); // unknown id: OK
  });

  it('publishes read-only when asked', async () => {
    const { controller, node } = f.c();
    const { volume } = await unary<CreateVolumeResponse>(controller, 'CreateVolume', { name: `ro-${Date.now()}`, volume_capabilities: [MOUNT] });
    const id = volume?.volume_id ?? '';
    const staging = join(f.dir(), 'staging', id);
    mkdirSync(staging, { recursive: true });
    await unary(node, 'NodeStageVolume', { volume_id: id, staging_target_path: staging, volume_capability: MOUNT });
    const target = join(f.dir(), 'ro-target');
    await unary(node, 'NodePublishVolume', { volume_id: id, staging_target_path: staging, target_path: target, volume_capability: MOUNT, readonly: true });
    expect(() => writeFileSync(join(target, 'x'), 'x')).toThrow(/EROFS/);
    writeFileSync(join(staging, 'y'), 'y'); // only the published view is read-only
    await unary(node, 'NodeUnpublishVolume', { volume_id: id, target_path: target });
    await unary(node, 'NodeUnstageVolume', { volume_id: id, staging_target_path: staging });
    expect(mountsUnder(f.dir())).toEqual([]);
  });

  it('serves an ephemeral inline volume whose writes stay in the backing store', async () => {
    const { node } = f.c();
    const id = `csi-eph-${Date.now()}`;
    const target = join(f.dir(), 'eph-target');
    const ctx = { 'csi.storage.k8s.io/ephemeral': 'true', greeting: 'hi there\n' };
    await unary(node, 'NodePublishVolume', { volume_id: id, target_path: target, volume_capability: MOUNT, volume_context: ctx });
    expect(readFileSync(join(target, 'hello.txt'), 'utf8')).toBe('hi there\n');
    writeFileSync(join(target, 'written.txt'), 'from the pod');
    await unary(node, 'NodeUnpublishVolume', { volume_id: id, target_path: target });
    expect(existsSync(target)).toBe(false);
    const backing = join(f.plugin().stateDir, 'ephemeral', id);
    expect(readFileSync(join(backing, 'written.txt'), 'utf8')).toBe('from the pod');
  });

  it('answers an injected failure without doing anything, and holds a hung call past the deadline', async () => {
    const { node } = f.c();
    const failDir = join(f.plugin().stateDir, 'fail');
    writeFileSync(join(failDir, 'NodePublishVolume'), 'UNAVAILABLE\n');
    const id = `csi-fail-${Date.now()}`;
    const target = join(f.dir(), 'fail-target');
    try {
      const ctx = { 'csi.storage.k8s.io/ephemeral': 'true' };
      const err = await grpcError(unary(node, 'NodePublishVolume', { volume_id: id, target_path: target, volume_capability: MOUNT, volume_context: ctx }));
      expect(err.code).toBe(grpc.status.UNAVAILABLE);
      expect(err.details).toBe('injected failure for NodePublishVolume');
      expect(existsSync(target)).toBe(false);
      expect(existsSync(join(f.plugin().stateDir, 'ephemeral', id))).toBe(false);
    } finally {
      rmSync(join(failDir, 'NodePublishVolume'));
    }
    writeFileSync(join(failDir, 'NodeGetInfo'), '');
    expect((await grpcError(unary(node, 'NodeGetInfo', {}))).code).toBe(grpc.status.INTERNAL);
    rmSync(join(failDir, 'NodeGetInfo'));

    const hang = join(f.plugin().stateDir, 'hang', 'NodeGetInfo');
    writeFileSync(hang, '');
    try {
      expect((await grpcError(unary(node, 'NodeGetInfo', {}, 300))).code).toBe(grpc.status.DEADLINE_EXCEEDED);
    } finally {
      rmSync(hang);
    }
    await unary(node, 'NodeGetInfo', {});
  });

  it('logs every call in calls.jsonl', () => {
    const calls = f.plugin().calls();
    const stage = calls.filter((c) => c.method === 'NodeStageVolume');
    expect(stage.some((c) => c.ok && c.staging_target_path !== undefined && c.volume_id?.startsWith('vol-'))).toBe(true);
    expect(stage.some((c) => !c.ok && c.code === 'FAILED_PRECONDITION')).toBe(true);
    expect(calls.some((c) => c.method === 'NodePublishVolume' && !c.ok && c.code === 'UNAVAILABLE')).toBe(true);
    expect(calls.some((c) => c.method === 'NodeGetInfo' && c.code === 'HANG')).toBe(true);
    for (const m of ['CreateVolume', 'NodeUnpublishVolume', 'NodeUnstageVolume', 'DeleteVolume', 'NodeGetVolumeStats']) {
      expect(calls.some((c) => c.method === m && c.ok), m).toBe(true);
    }
    expect(calls.every((c) => typeof c.time === 'number')).toBe(true);
  });
});

describe.skipIf(process.getuid?.() !== 0)('fixture CSI plugin with --controller-publish --no-stage', () => {
  const f = pluginFor('ctrl', ['--controller-publish', '--no-stage', '--node-id', 'node-a']);

  it('requires ControllerPublish before a publish and mounts the volume dir directly', async () => {
    const { controller, node } = f.c();
    const cc = await unary<ControllerGetCapabilitiesResponse>(controller, 'ControllerGetCapabilities', {});
    expect(cc.capabilities?.map((c) => c.rpc?.type)).toEqual(['CREATE_DELETE_VOLUME', 'PUBLISH_UNPUBLISH_VOLUME']);
    const nc = await unary<NodeGetCapabilitiesResponse>(node, 'NodeGetCapabilities', {});
    expect(nc.capabilities?.map((c) => c.rpc?.type)).not.toContain('STAGE_UNSTAGE_VOLUME');

    const { volume } = await unary<CreateVolumeResponse>(controller, 'CreateVolume', { name: `cp-${Date.now()}`, volume_capabilities: [MOUNT] });
    const id = volume?.volume_id ?? '';
    const target = join(f.dir(), 'target');
    const publish = { volume_id: id, target_path: target, volume_capability: MOUNT };
    expect((await grpcError(unary(node, 'NodePublishVolume', publish))).code).toBe(grpc.status.FAILED_PRECONDITION);
    expect(existsSync(target)).toBe(false);

    const cp = await unary<ControllerPublishVolumeResponse>(controller, 'ControllerPublishVolume', { volume_id: id, node_id: 'node-a', volume_capability: MOUNT });
    expect(cp.publish_context?.devicePath).toBe(join(f.plugin().stateDir, 'volumes', id));
    await unary(node, 'NodePublishVolume', publish);
    writeFileSync(join(target, 'f'), 'direct');
    expect(readFileSync(join(f.plugin().stateDir, 'volumes', id, 'f'), 'utf8')).toBe('direct');
    await unary(node, 'NodeUnpublishVolume', { volume_id: id, target_path: target });
    await unary(controller, 'ControllerUnpublishVolume', { volume_id: id, node_id: 'node-a' });
    await unary(controller, 'ControllerUnpublishVolume', { volume_id: id, node_id: 'node-a' });
    const staged = await grpcError(unary(node, 'NodeStageVolume', { volume_id: id, staging_target_path: f.dir(), volume_capability: MOUNT }));
    expect(staged.code).toBe(grpc.status.UNIMPLEMENTED);
    expect(mountsUnder(f.dir())).toEqual([]);
  });
});
