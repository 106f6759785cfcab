// A pod's named CSI volume through the daemon (keelson.v1.Volumes PublishPodVolumes and
// UnpublishPodVolumes: records, stage, publish, mountinfo checks, and back) beside the floor
// measured in the same run: the same four CSI calls (NodeStage, NodePublish, NodeUnpublish,
// NodeUnstage) sent straight to a second instance of the same fixture plugin, with the same
// dirs made and removed. Each pod is a real sandbox, made and removed outside the timings.
//
//   bench/run.sh csi [iterations]
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, rmdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { VolumesClient } from '../src/client/volumes.js';
import { csiClients, FIXTURE_PLUGIN, startFixturePlugin, unary } from '../test/fixtures/csi-fixture.js';
import { startKeelson } from '../test/fixtures/daemon.js';
import { podConfig, unmountAllUnder } from '../test/fixtures/sandbox.js';

const iterations = Number(process.argv[2] ?? 30);
const DRIVER = 'fixture.csi.keelson.dev';

function pct(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
}

function line(what: string, ours: number[], floor: number[]): string {
  const f = (n: number): string => `${n.toFixed(1)} ms`;
  return `${what.padEnd(18)} keelson p50 ${f(pct(ours, 50))} p90 ${f(pct(ours, 90))} | floor p50 ${f(pct(floor, 50))} p90 ${f(pct(floor, 90))} | ` +
    `x${(pct(ours, 50) / pct(floor, 50)).toFixed(2)} p50, x${(pct(ours, 90) / pct(floor, 90)).toFixed(2)} p90`;
}

async function main(): Promise<void> {
  const base = await mkdtemp(join(tmpdir(), 'keelson-bench-csi-'));
  const socket = join(base, 'plugin', 'csi.sock');
  await mkdir(join(base, 'plugin'), { recursive: true });
  const daemon = await startKeelson({ configToml: `[csi.plugins."${DRIVER}"]
endpoint = "${socket}"
binary = "${process.execPath}"
args = ["${FIXTURE_PLUGIN}", "--endpoint", "unix://${socket}", "--state-dir", "${join(base, 'plugin-state')}"]
` });
  const floorPlugin = await startFixturePlugin(join(base, 'floor'));
  const clients = csiClients(floorPlugin.socket);
  const volumes = new VolumesClient(daemon.socket);
  const publish: number[] = [];
  const unpublish: number[] = [];
  const floorPublish: number[] = [];
  const floorUnpublish: number[] = [];
  try {
    await volumes.create('bench', DRIVER, 16 << 20, {});
    const created = await unary<{ volume: { volume_id: string } }>(clients.controller, 'CreateVolume', {
      name: 'bench', capacity_range: { required_bytes: String(16 << 20) },
      volume_capabilities: [{ mount: {}, access_mode: { mode: 'SINGLE_NODE_WRITER' } }],
    });
    const floorVolume = created.volume.volume_id;
    const capability = { mount: { fs_type: '' }, access_mode: { mode: 'SINGLE_NODE_WRITER' } };
    for (let i = -2; i < iterations; i++) { // two warm-up rounds
      // Host network: the bench needs no CNI config, and the network is not what it measures.
      const cfg = podConfig({ log_directory: join(base, 'logs'), linux: { security_context: { namespace_options: { network: 'NODE' } } } });
      const pod = await daemon.client.runtime.call('RunPodSandbox', { config: cfg });
      const uid = cfg.metadata?.uid ?? '';
      let t = performance.now();
      await volumes.publishPod({ pod: { uid, name: cfg.metadata?.name ?? '', namespace: 'default' }, volumes: [{ name: 'data', source: { kind: 'named', volume: 'bench', readOnly: false } }] });
      const p = performance.now() - t;
      t = performance.now();
      await volumes.unpublishPod(uid);
      const u = performance.now() - t;
      await daemon.client.runtime.call('RemovePodSandbox', { pod_sandbox_id: pod.pod_sandbox_id ?? '' });

      const staging = join(base, 'floor-dirs', `staging-${i}`);
      const parent = join(base, 'floor-dirs', `pod-${randomBytes(4).toString('hex')}`);
      t = performance.now();
      await mkdir(staging, { recursive: true });
      await unary(clients.node, 'NodeStageVolume', { volume_id: floorVolume, staging_target_path: staging, volume_capability: capability });
      await mkdir(parent, { recursive: true });
      await unary(clients.node, 'NodePublishVolume', { volume_id: floorVolume, staging_target_path: staging, target_path: join(parent, 'mount'), volume_capability: capability });
      const fp = performance.now() - t;
      t = performance.now();
      await unary(clients.node, 'NodeUnpublishVolume', { volume_id: floorVolume, target_path: join(parent, 'mount') });
      await rm(parent, { recursive: true });
      await unary(clients.node, 'NodeUnstageVolume', { volume_id: floorVolume, staging_target_path: staging });
      await rmdir(staging);
      const fu = performance.now() - t;
      if (i < 0) continue;
      publish.push(p);
      unpublish.push(u);
      floorPublish.push(fp);
      floorUnpublish.push(fu);
    }
    console.log(`named CSI volume, ${iterations} pods, one at a time`);
    console.log(line('stage+publish', publish, floorPublish));
    console.log(line('unpublish+unstage', unpublish, floorUnpublish));
  } finally {
    clients.close();
    await floorPlugin.stop();
    await daemon.stop();
    unmountAllUnder(base);
    unmountAllUnder(daemon.base);
    await daemon.destroy();
    await rm(base, { recursive: true, force: true });
  }
}

await main();
