// Faults around pod sandboxes: broken network configs, a failing plugin, many pods at once,
// and a daemon killed with pods alive. Each case checks that nothing is left on the host.
import { readdirSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFile, writeFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { status as grpcStatus } from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import { makeTestNetwork, writeNetworkConfig, type TestNetwork } from '../../fixtures/cni.js';
import { startKeelson, type KeelsonDaemon } from '../../fixtures/daemon.js';
import { cgroupDirsLeft, entries, mountsUnder, podConfig, unmountAllUnder } from '../../fixtures/sandbox.js';
import { pinNamespaces } from '../../../src/native.js';
import { grpcError } from '../../fixtures/grpc.js';

const FIXTURE_PLUGINS = fileURLToPath(new URL('../../fixtures/cni-plugins', import.meta.url));
const BIN_DIRS_TOML = `bin_dirs = ["${FIXTURE_PLUGINS}", "/usr/lib/cni"]\n`;

describe('pod sandbox faults', () => {
  const daemons: KeelsonDaemon[] = [];
  const networks: TestNetwork[] = [];

  afterEach(async () => {
    for (const d of daemons.splice(0)) {
      await d.stop();
      unmountAllUnder(d.base);
      await d.destroy();
    }
    for (const n of networks.splice(0)) n.cleanup();
  });

  async function start(opts: { configToml?: string; base?: string } = {}): Promise<KeelsonDaemon> {
    // The daemon writes [cni] conf_dir first; our keys go into the same table.
    const d = await startKeelson({ configToml: opts.configToml ?? '', ...(opts.base ? { base: opts.base } : {}) });
    daemons.push(d);
    return d;
  }

  /** Nothing of any sandbox is left: no dirs, no mounts, no IPs, no rules, no cgroup. */
  function expectNothingLeft(d: KeelsonDaemon, net: TestNetwork | null, cgroupParent?: string): void {
    expect(entries(join(d.state, 'sandboxes'))).toEqual([]);
    expect(entries(join(d.root, 'sandboxes'))).toEqual([]);
    expect(mountsUnder(d.state)).toEqual([]);
    if (net) {
      expect(net.allocatedIps()).toEqual([]);
      expect(net.iptablesLeftovers()).toEqual([]);
    }
    if (cgroupParent) expect(cgroupDirsLeft(cgroupParent)).toEqual([]);
    expect(entries(join(d.root, 'cni-cache'))).toEqual([]);
  }

  it('refuses to run a pod with a broken network config, saying why, and leaves nothing', async () => {
    const d = await start();
    await writeFile(join(d.cniConfDir, '10-broken.conflist'), '{"cniVersion": "1.0.0", "name": "x", "plugins": [');
    const parent = `/keelson-it-${randomBytes(4).toString('hex')}`;
    const err = await grpcError(d.client.runtime.call('RunPodSandbox', { config: podConfig({ linux: { cgroup_parent: parent } }) }));
    expect(err.code).toBe(grpcStatus.FAILED_PRECONDITION);
    expect(err.details).toContain('10-broken.conflist');
    expect(err.details).toContain('CNI');
    expectNothingLeft(d, null, parent);
    const status = await d.client.runtime.call('Status', {});
    const ready = status.status?.conditions?.find((c) => c.type === 'NetworkReady');
    expect(ready?.status).toBe(false);
    expect(ready?.message).toContain('10-broken.conflist');
    expect((await d.client.runtime.call('ListPodSandbox', {})).items ?? []).toEqual([]);
    // A config whose plugin is missing is not ready either, and says which.
    await rm(join(d.cniConfDir, '10-broken.conflist'));
    await writeFile(join(d.cniConfDir, '20-missing.conflist'), JSON.stringify({ cniVersion: '1.0.0', name: 'm', plugins: [{ type: 'no-such-plugin' }] }));
    const missing = (await d.client.runtime.call('Status', {})).status?.conditions?.find((c) => c.type === 'NetworkReady');
    expect(missing?.status).toBe(false);
    expect(missing?.message).toContain('no-such-plugin');
  });

  it('rolls back everything when a plugin in the chain fails ADD, carrying the CNI error', async () => {
    const d = await start({ configToml: BIN_DIRS_TOML });
    const net = makeTestNetwork(d.base, { extraPlugins: [{ type: 'keelson-failpoint' }] });
    networks.push(net);
    await writeNetworkConfig(d.cniConfDir, net);
    const parent = `/keelson-it-${randomBytes(4).toString('hex')}`;
    const err = await grpcError(d.client.runtime.call('RunPodSandbox', {
      config: podConfig({ port_mappings: [{ container_port: 80, host_port: 24680 }], linux: { cgroup_parent: parent } }),
    }));
    expect(err.code).toBe(grpcStatus.INTERNAL);
    expect(err.details).toContain('CNI ADD');
    expect(err.details).toContain('keelson-failpoint ADD failed (code 7): failpoint: ADD refused on purpose');
    // bridge and host-local ran before the failpoint: the IP they gave must be released.
    expectNothingLeft(d, net, parent);
    expect((await d.client.runtime.call('ListPodSandbox', {})).items ?? []).toEqual([]);
  });

  it('rolls back everything when the infra process of a shared PID namespace cannot start', async () => {
    // A runtime handler whose binary fails every command: conmon reports the failed create.
    const d = await start({ configToml: '[runtime.handlers.broken]\npath = "/bin/false"\n' });
    const net = makeTestNetwork(d.base);
    networks.push(net);
    await writeNetworkConfig(d.cniConfDir, net);
    const parent = `/keelson-it-${randomBytes(4).toString('hex')}`;
    const err = await grpcError(d.client.runtime.call('RunPodSandbox', {
      runtime_handler: 'broken',
      config: podConfig({ linux: { cgroup_parent: parent, security_context: { namespace_options: { pid: 'POD' } } } }),
    }));
    expect(err.details).toContain('RunPodSandbox failed to start the infra process');
    expectNothingLeft(d, net, parent);
    expect((await d.client.runtime.call('ListPodSandbox', {})).items ?? []).toEqual([]);
  });

  it('tears the network down exactly once however often Stop and Remove are called', async () => {
    const d = await start({ configToml: BIN_DIRS_TOML });
    const log = join(d.base, 'plugin-calls.jsonl');
    const net = makeTestNetwork(d.base, { extraPlugins: [{ type: 'keelson-failpoint', failOn: [], log }] });
    networks.push(net);
    await writeNetworkConfig(d.cniConfDir, net);
    const config = podConfig();
    const id = (await d.client.runtime.call('RunPodSandbox', { config })).pod_sandbox_id ?? '';
    await Promise.all([1, 2, 3].map(() => d.client.runtime.call('StopPodSandbox', { pod_sandbox_id: id })));
    await d.client.runtime.call('StopPodSandbox', { pod_sandbox_id: id });
    await Promise.all([1, 2].map(() => d.client.runtime.call('RemovePodSandbox', { pod_sandbox_id: id })));
    const calls = (await readFile(log, 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as { command: string; containerId: string; args: string });
    expect(calls.map((c) => c.command)).toEqual(['ADD', 'DEL']);
    expect(calls[0]?.containerId).toBe(id);
    expect(calls[0]?.args).toContain(`K8S_POD_NAME=${config.metadata?.name};`);
    expectNothingLeft(d, net);
  });

  it('creates and removes 20 pods concurrently and leaves nothing behind', async () => {
    // Pods of other daemons on this host (another test run) share /keelson: leave theirs be.
    const othersBefore = cgroupDirsLeft('/keelson').flatMap((dir) => readdirSync(dir).filter((n) => /^[0-9a-f]{64}$/.test(n)));
    const d = await start();
    const net = makeTestNetwork(d.base);
    networks.push(net);
    await writeNetworkConfig(d.cniConfDir, net);
    const ids = await Promise.all(Array.from({ length: 20 }, async () =>
      (await d.client.runtime.call('RunPodSandbox', { config: podConfig() })).pod_sandbox_id ?? ''));
    expect(new Set(ids).size).toBe(20);
    const ips = new Set<string>();
    for (const id of ids) {
      const s = await d.client.runtime.call('PodSandboxStatus', { pod_sandbox_id: id });
      expect(s.status?.state).toBe('SANDBOX_READY');
      ips.add(s.status?.network?.ip ?? '');
    }
    expect(ips.size).toBe(20);
    expect(net.allocatedIps().sort()).toEqual([...ips].sort());
    await Promise.all(ids.map(async (id) => {
      await d.client.runtime.call('StopPodSandbox', { pod_sandbox_id: id });
      await d.client.runtime.call('RemovePodSandbox', { pod_sandbox_id: id });
    }));
    expectNothingLeft(d, net);
    for (const id of ids) expect(cgroupDirsLeft(`/keelson/${id}`)).toEqual([]);
    // keelson's own parent cgroup goes with the last pod under it.
    if (othersBefore.length === 0) expect(cgroupDirsLeft('/keelson')).toEqual([]);
  });

  it('after kill -9 and a restart, Stop and Remove of an earlier pod still release its IP', async () => {
    const d = await start();
    const net = makeTestNetwork(d.base);
    networks.push(net);
    await writeNetworkConfig(d.cniConfDir, net);
    const id = (await d.client.runtime.call('RunPodSandbox', { config: podConfig() })).pod_sandbox_id ?? '';
    const ip = (await d.client.runtime.call('PodSandboxStatus', { pod_sandbox_id: id })).status?.network?.ip ?? '';
    expect(net.allocatedIps()).toEqual([ip]);
    await d.kill();
    daemons.splice(daemons.indexOf(d), 1);

    // Leave an orphan behind as a crash would: namespaces pinned with no record.
    const orphan = randomBytes(32).toString('hex');
    const orphanNs = join(d.state, 'sandboxes', orphan, 'ns');
    execFileSync('mkdir', ['-p', orphanNs]);
    await pinNamespaces({ net: join(orphanNs, 'net'), uts: join(orphanNs, 'uts') });

    const again = await start({ base: d.base });
    expect(mountsUnder(join(again.state, 'sandboxes', orphan))).toEqual([]);
    expect(entries(join(again.state, 'sandboxes'))).toEqual([id]);
    const s = await again.client.runtime.call('PodSandboxStatus', { pod_sandbox_id: id });
    expect(s.status?.state).toBe('SANDBOX_READY');
    expect(s.status?.network?.ip).toBe(ip);
    await again.client.runtime.call('StopPodSandbox', { pod_sandbox_id: id });
    expect(net.allocatedIps()).toEqual([]);
    await again.client.runtime.call('RemovePodSandbox', { pod_sandbox_id: id });
    expectNothingLeft(again, net);
  });

  it('rolls back a RunPodSandbox cut short by kill -9 during CNI ADD when the daemon restarts', async () => {
    const d = await start({ configToml: BIN_DIRS_TOML });
    // The last plugin of the chain sleeps, so the daemon dies after bridge/host-local gave an IP.
    const net = makeTestNetwork(d.base, { extraPlugins: [{ type: 'keelson-failpoint', failOn: [], sleepMs: 1500 }] });
    networks.push(net);
    await writeNetworkConfig(d.cniConfDir, net);
    const running = d.client.runtime.call('RunPodSandbox', { config: podConfig() }).catch((e: unknown) => e);
    for (let i = 0; i < 100 && net.allocatedIps().length === 0; i++) await new Promise((r) => setTimeout(r, 50));
    expect(net.allocatedIps().length).toBe(1);
    await d.kill();
    daemons.splice(daemons.indexOf(d), 1);
    expect(await running).toBeInstanceOf(Error);
    await new Promise((r) => setTimeout(r, 1600)); // the orphaned plugin finishes its sleep
    expect(entries(join(d.state, 'sandboxes')).length).toBe(1);

    const again = await start({ base: d.base, configToml: BIN_DIRS_TOML });
    expect((await again.client.runtime.call('ListPodSandbox', {})).items ?? []).toEqual([]);
    expectNothingLeft(again, net);
  });

  it('marks a pod NOTREADY after a restart when its netns vanished, and still releases its IP', async () => {
    const d = await start();
    const net = makeTestNetwork(d.base);
    networks.push(net);
    await writeNetworkConfig(d.cniConfDir, net);
    const id = (await d.client.runtime.call('RunPodSandbox', { config: podConfig() })).pod_sandbox_id ?? '';
    await d.kill();
    daemons.splice(daemons.indexOf(d), 1);
    execFileSync('umount', [join(d.state, 'sandboxes', id, 'ns', 'net')]);
    const again = await start({ base: d.base });
    const s = await again.client.runtime.call('PodSandboxStatus', { pod_sandbox_id: id });
    expect(s.status?.state).toBe('SANDBOX_NOTREADY');
    await again.client.runtime.call('StopPodSandbox', { pod_sandbox_id: id });
    await again.client.runtime.call('RemovePodSandbox', { pod_sandbox_id: id });
    expect(net.allocatedIps()).toEqual([]);
    // The bridge plugin (Debian, 1.1.x) finds the IPs whose masquerade rules it removes inside
    // the netns; with the netns gone it can only release the IP. Those rules are the test's to
    // clean; everything keelson owns must be gone.
    net.removeIptablesLeftovers();
    expectNothingLeft(again, net);
  });
});
