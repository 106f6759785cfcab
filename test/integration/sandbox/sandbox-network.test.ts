// Pod sandboxes on a real CNI network (Debian's bridge, host-local, firewall, portmap),
// driven through the CRI socket.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { readFileSync, readlinkSync, statSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { join } from 'node:path';
import { status as grpcStatus } from '@grpc/grpc-js';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { makeTestNetwork, writeNetworkConfig, type TestNetwork } from '../../fixtures/cni.js';
import { startKeelson, type KeelsonDaemon } from '../../fixtures/daemon.js';
import { cgroupDirsLeft, entries, mountsUnder, podConfig, unmountAllUnder } from '../../fixtures/sandbox.js';
import type { PodSandboxConfig } from '../../../src/cri/generated/cri-types.js';
import { grpcError } from '../../fixtures/grpc.js';

interface VerboseInfo {
  namespaces: { net: string | null; ipc: string | null; uts: string | null };
  files: { hostname: string; hosts: string; resolvConf: string; shm: string | null };
  cgroup: { path: string; parent: string };
  infraPid: number | null;
}

function httpGet(host: string, port: number, path = '/index.html'): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request({ host, port, path, timeout: 3000 }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve(body));
    });
    req.on('timeout', () => req.destroy(new Error(`timeout reaching ${host}:${port}`)));
    req.on('error', reject);
    req.end();
  });
}

async function retry<T>(fn: () => Promise<T>, tries = 30): Promise<T> {
  for (let i = 0; ; i++) {
    try {
      return await fn();
    } catch (err) {
      if (i >= tries) throw err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

describe('pod sandboxes on a CNI bridge network', () => {
  let daemon: KeelsonDaemon;
  let net: TestNetwork;
  const processes: ChildProcess[] = [];

  beforeAll(async () => {
    daemon = await startKeelson();
    net = makeTestNetwork(daemon.base);
    await writeNetworkConfig(daemon.cniConfDir, net);
  });

  afterEach(() => {
    for (const p of processes.splice(0)) {
      if (p.pid && p.exitCode === null && p.signalCode === null) process.kill(p.pid, 'SIGKILL');
    }
  });

  afterAll(async () => {
    if (daemon) {
      const list = await daemon.client.runtime.call('ListPodSandbox', {}).catch(() => ({ items: [] }));
      for (const p of list.items ?? []) await daemon.client.runtime.call('RemovePodSandbox', { pod_sandbox_id: p.id ?? '' }).catch(() => undefined);
      await daemon.stop();
      unmountAllUnder(daemon.base);
      await daemon.destroy();
    }
    net?.cleanup();
  });

  async function run(config: PodSandboxConfig): Promise<{ id: string; ip: string; info: VerboseInfo }> {
    const r = await daemon.client.runtime.call('RunPodSandbox', { config });
    const id = r.pod_sandbox_id ?? '';
    const s = await daemon.client.runtime.call('PodSandboxStatus', { pod_sandbox_id: id, verbose: true });
    return { id, ip: s.status?.network?.ip ?? '', info: JSON.parse(s.info?.info ?? '{}') as VerboseInfo };
  }

  async function remove(id: string): Promise<void> {
    await daemon.client.runtime.call('StopPodSandbox', { pod_sandbox_id: id });
    await daemon.client.runtime.call('RemovePodSandbox', { pod_sandbox_id: id });
  }

  /** busybox httpd inside the pod's netns, killed by pid after the test. */
  async function serveHttp(netns: string, port: number, body: string): Promise<void> {
    const dir = join(daemon.base, `www-${port}`);
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'index.html'), body);
    const child = spawn('nsenter', [`--net=${netns}`, '--', 'busybox', 'httpd', '-f', '-p', String(port), '-h', dir], { stdio: 'ignore' });
    processes.push(child);
  }

  it('gives a pod an IP from the network, pinned namespaces, its hostname, files and shm', async () => {
    const config = podConfig({ dns_config: { servers: ['10.0.0.10', '2001:db8::53'], searches: ['svc.cluster.local', 'cluster.local'], options: ['ndots:5'] } });
    const { id, ip, info } = await run(config);
    const [a, b, c] = net.subnet.split('.');
    expect(ip.startsWith(`${a}.${b}.${c}.`)).toBe(true);
    expect(net.allocatedIps()).toContain(ip);
    // Namespaces pinned under the state dir, as nsfs mounts.
    for (const kind of ['net', 'ipc', 'uts'] as const) {
      expect(info.namespaces[kind]).toBe(join(daemon.state, 'sandboxes', id, 'ns', kind));
    }
    expect(mountsUnder(join(daemon.state, 'sandboxes', id)).sort()).toEqual([
      join(daemon.state, 'sandboxes', id, 'ns', 'ipc'), join(daemon.state, 'sandboxes', id, 'ns', 'net'),
      join(daemon.state, 'sandboxes', id, 'ns', 'uts'), join(daemon.state, 'sandboxes', id, 'shm'),
    ].sort());
    // The hostname is set in the UTS namespace, and eth0 carries the IP inside the netns.
    expect(execFileSync('nsenter', [`--uts=${info.namespaces.uts}`, 'hostname'], { encoding: 'utf8' }).trim()).toBe(config.hostname);
    expect(execFileSync('nsenter', [`--net=${info.namespaces.net}`, 'ip', '-4', '-o', 'addr', 'show', 'eth0'], { encoding: 'utf8' })).toContain(`${ip}/24`);
    // Files for containers to mount.
    expect(readFileSync(info.files.hostname, 'utf8')).toBe(`${config.hostname}\n`);
    expect(readFileSync(info.files.resolvConf, 'utf8')).toBe(
      'search svc.cluster.local cluster.local\nnameserver 10.0.0.10\nnameserver 2001:db8::53\noptions ndots:5\n');
    const hosts = readFileSync(info.files.hosts, 'utf8');
    expect(hosts).toContain('127.0.0.1\tlocalhost');
    expect(hosts).toContain(`${ip}\t${config.hostname}`);
    const shmLine = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').find((l) => l.split(' ')[4] === info.files.shm);
    expect(shmLine).toMatch(/ - tmpfs shm rw,.*size=65536k/);
    // The pod cgroup exists in each hierarchy (keelson's default parent here).
    expect(info.cgroup.path).toBe(`/keelson/${id}`);
    expect(cgroupDirsLeft(info.cgroup.path).length).toBeGreaterThan(0);

    await remove(id);
    expect(net.allocatedIps()).not.toContain(ip);
    expect(mountsUnder(join(daemon.state, 'sandboxes', id))).toEqual([]);
    expect(entries(join(daemon.state, 'sandboxes'))).not.toContain(id);
    expect(entries(join(daemon.root, 'sandboxes'))).not.toContain(id);
    expect(cgroupDirsLeft(info.cgroup.path)).toEqual([]);
    const gone = await grpcError(daemon.client.runtime.call('PodSandboxStatus', { pod_sandbox_id: id }));
    expect(gone.code).toBe(grpcStatus.NOT_FOUND);
  });

  it('copies the host resolv.conf when the pod gives no DNS config', async () => {
    const { id, info } = await run(podConfig());
    expect(readFileSync(info.files.resolvConf, 'utf8')).toBe(readFileSync('/etc/resolv.conf', 'utf8'));
    await remove(id);
  });

  it('serves HTTP from the pod to the host on the pod IP and through a hostPort, and between two pods', async () => {
    const hostPort = randomInt(20000, 30000);
    const a = await run(podConfig({ port_mappings: [{ protocol: 'TCP', container_port: 8080, host_port: hostPort }] }));
    const b = await run(podConfig());
    await serveHttp(a.info.namespaces.net as string, 8080, 'hello from pod a\n');
    expect(await retry(() => httpGet(a.ip, 8080))).toBe('hello from pod a\n');
    // hostPort through portmap: via the host's address on the bridge, and via 127.0.0.1
    // (portmap's SNAT + route_localnet).
    expect(await retry(() => httpGet(net.gateway, hostPort))).toBe('hello from pod a\n');
    expect(await retry(() => httpGet('127.0.0.1', hostPort))).toBe('hello from pod a\n');
    // Pod b reaches pod a over the bridge.
    // (busybox 1.35's wget crashes on -T, so timeout(1) bounds it instead.)
    const fromB = execFileSync('nsenter', [`--net=${b.info.namespaces.net}`, '--', 'timeout', '5', 'busybox', 'wget', '-q', '-O', '-', `http://${a.ip}:8080/index.html`], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    expect(fromB).toBe('hello from pod a\n');
    // Traffic shows in the pod's network counters.
    const stats = await daemon.client.runtime.call('PodSandboxStats', { pod_sandbox_id: a.id });
    const eth0 = stats.stats?.linux?.network?.default_interface;
    expect(eth0?.name).toBe('eth0');
    expect(BigInt(eth0?.tx_bytes?.value ?? '0')).toBeGreaterThan(0n);
    expect(stats.stats?.attributes?.id).toBe(a.id);

    await remove(a.id);
    await remove(b.id);
    expect(net.iptablesLeftovers()).toEqual([]);
    expect(net.allocatedIps()).toEqual([]);
  });

  it('reports the pod cgroup\'s cpu, memory and process count', async () => {
    const { id, info } = await run(podConfig());
    // A busy process in the pod's namespaces, moved into the pod cgroup of every hierarchy; it
    // allocates after the move (cgroup v1 does not move earlier charges along).
    const script = 'sleep 0.3; x=$(head -c 4000000 /dev/zero | tr "\\0" a); while :; do :; done';
    const busy = spawn('nsenter', [`--net=${info.namespaces.net}`, `--ipc=${info.namespaces.ipc}`, '--', 'busybox', 'sh', '-c', script], { stdio: 'ignore' });
    processes.push(busy);
    await new Promise((r) => setTimeout(r, 100));
    for (const dir of cgroupDirsLeft(info.cgroup.path)) await writeFile(join(dir, 'cgroup.procs'), String(busy.pid));
    await new Promise((r) => setTimeout(r, 700));
    const first = (await daemon.client.runtime.call('PodSandboxStats', { pod_sandbox_id: id })).stats?.linux;
    expect(BigInt(first?.cpu?.usage_core_nano_seconds?.value ?? '0')).toBeGreaterThan(0n);
    expect(BigInt(first?.memory?.usage_bytes?.value ?? '0')).toBeGreaterThan(0n);
    expect(BigInt(first?.memory?.working_set_bytes?.value ?? '0')).toBeGreaterThan(0n);
    expect(BigInt(first?.process?.process_count?.value ?? '0')).toBeGreaterThanOrEqual(1n);
    await new Promise((r) => setTimeout(r, 300));
    const second = (await daemon.client.runtime.call('PodSandboxStats', { pod_sandbox_id: id })).stats?.linux;
    // A busy loop uses about one core (nanocores: 1e9 per core).
    expect(BigInt(second?.cpu?.usage_nano_cores?.value ?? '0')).toBeGreaterThan(100_000_000n);
    const exited = new Promise((r) => busy.once('exit', r));
    process.kill(busy.pid as number, 'SIGKILL');
    await exited;
    await remove(id);
    expect(cgroupDirsLeft(info.cgroup.path)).toEqual([]);
  });

  it('runs a host-network pod in the host namespaces with the host interfaces', async () => {
    const config = podConfig({ hostname: '', linux: { security_context: { namespace_options: { network: 'NODE', ipc: 'NODE', pid: 'NODE' } } } });
    const { id, ip, info } = await run(config);
    expect(ip).toBe('');
    expect(info.namespaces).toEqual({ net: null, ipc: null, uts: null });
    expect(info.files.shm).toBeNull();
    expect(readFileSync(info.files.hosts, 'utf8')).toBe(readFileSync('/etc/hosts', 'utf8'));
    expect(readFileSync(info.files.hostname, 'utf8').trim()).toBe(execFileSync('hostname', { encoding: 'utf8' }).trim());
    // No netns of its own: the interfaces it sees are the host's, the test bridge among them.
    const stats = await daemon.client.runtime.call('PodSandboxStats', { pod_sandbox_id: id });
    expect((stats.stats?.linux?.network?.interfaces ?? []).map((i) => i.name)).toContain(net.bridge);
    const s = await daemon.client.runtime.call('PodSandboxStatus', { pod_sandbox_id: id });
    expect(s.status?.linux?.namespaces?.options).toMatchObject({ network: 'NODE', ipc: 'NODE', pid: 'NODE' });
    expect(mountsUnder(join(daemon.state, 'sandboxes', id))).toEqual([]);
    await remove(id);
  });

  it('applies namespaced sysctls inside the pod and refuses unsafe ones', async () => {
    const { id, info } = await run(podConfig({ linux: { sysctls: { 'net.ipv4.ip_unprivileged_port_start': '0', 'kernel.shm_rmid_forced': '1' } } }));
    const read = (ns: string, file: string): string => execFileSync('nsenter', [ns, '--', 'cat', file], { encoding: 'utf8' }).trim();
    expect(read(`--net=${info.namespaces.net}`, '/proc/sys/net/ipv4/ip_unprivileged_port_start')).toBe('0');
    expect(read(`--ipc=${info.namespaces.ipc}`, '/proc/sys/kernel/shm_rmid_forced')).toBe('1');
    expect(readFileSync('/proc/sys/kernel/shm_rmid_forced', 'utf8').trim()).not.toBe('x');
    await remove(id);

    const before = entries(join(daemon.state, 'sandboxes'));
    const unsafe: Array<Record<string, string>> = [
      { 'kernel.shm_rmid_forced': '1+kernel.core_pattern=|/tmp/payload' }, // CVE-2022-0811
      { 'kernel.core_pattern': '/tmp/core' },
      { 'net.ipv4.ip_forward': '1\nkernel.core_pattern=x' },
      { '../../etc': '1' },
    ];
    for (const sysctls of unsafe) {
      const err = await grpcError(daemon.client.runtime.call('RunPodSandbox', { config: podConfig({ linux: { sysctls } }) }));
      expect(err.code).toBe(grpcStatus.INVALID_ARGUMENT);
      expect(err.details).toMatch(/sysctl/);
    }
    const hostNet = await grpcError(daemon.client.runtime.call('RunPodSandbox', { config: podConfig({
      linux: { sysctls: { 'net.ipv4.ip_forward': '1' }, security_context: { namespace_options: { network: 'NODE', pid: 'CONTAINER' } } } }) }));
    expect(hostNet.code).toBe(grpcStatus.INVALID_ARGUMENT);
    expect(hostNet.details).toContain('host network');
    expect(entries(join(daemon.state, 'sandboxes'))).toEqual(before);
  });

  it('refuses a second sandbox with the same name, namespace, uid and attempt', async () => {
    const config = podConfig();
    const { id } = await run(config);
    const again = await grpcError(daemon.client.runtime.call('RunPodSandbox', { config }));
    expect(again.code).toBe(grpcStatus.ALREADY_EXISTS);
    expect(again.details).toContain(id);
    const next = await run({ ...config, metadata: { ...config.metadata, attempt: 1 } });
    await remove(id);
    await remove(next.id);
  });

  it('holds a pod-shared PID namespace with an infra process under conmon, gone with the pod', async () => {
    const { id, info } = await run(podConfig({ linux: { security_context: { namespace_options: { pid: 'POD' } } } }));
    const pid = info.infraPid;
    expect(pid).toBeGreaterThan(0);
    const infraPid = pid as number;
    expect(readFileSync(`/proc/${infraPid}/cmdline`, 'utf8').split('\0')[0]).toBe('/catatonit');
    // init of its own PID namespace, inside the pod's pinned network namespace
    expect(readFileSync(`/proc/${infraPid}/status`, 'utf8')).toMatch(new RegExp(`NSpid:\\s+${infraPid}\\s+1\\n`));
    expect(readlinkSync(`/proc/${infraPid}/ns/pid`)).not.toBe(readlinkSync('/proc/self/ns/pid'));
    expect(statSync(`/proc/${infraPid}/ns/net`).ino).toBe(statSync(info.namespaces.net as string).ino);
    const runcRoot = join(daemon.state, 'runtimes', 'runc');
    const listed = (): string => execFileSync('runc', ['--root', runcRoot, 'list', '-q'], { encoding: 'utf8' });
    expect(listed()).toContain(`infra-${id}`);
    await daemon.client.runtime.call('StopPodSandbox', { pod_sandbox_id: id });
    const state = JSON.parse(execFileSync('runc', ['--root', runcRoot, 'state', `infra-${id}`], { encoding: 'utf8' })) as { status: string };
    expect(state.status).toBe('stopped');
    await daemon.client.runtime.call('RemovePodSandbox', { pod_sandbox_id: id });
    expect(listed()).not.toContain(`infra-${id}`);
  });

  it('refuses unknown handlers and records the chosen one', async () => {
    const handler = await grpcError(daemon.client.runtime.call('RunPodSandbox', { config: podConfig(), runtime_handler: 'nope' }));
    expect(handler.code).toBe(grpcStatus.INVALID_ARGUMENT);
    expect(handler.details).toContain('runtime_handler');
    const { id } = await run(podConfig());
    const s = await daemon.client.runtime.call('PodSandboxStatus', { pod_sandbox_id: id });
    expect(s.status?.runtime_handler).toBe('runc');
    await remove(id);
    const crun = await daemon.client.runtime.call('RunPodSandbox', { config: podConfig(), runtime_handler: 'crun' });
    const sc = await daemon.client.runtime.call('PodSandboxStatus', { pod_sandbox_id: crun.pod_sandbox_id ?? '' });
    expect(sc.status?.runtime_handler).toBe('crun');
    await remove(crun.pod_sandbox_id ?? '');
  });

  it('creates the pod cgroup under the given parent with its limits, and removes it', async () => {
    const parent = `/keelson-it-${randomInt(1e9)}/pod1`;
    const { id, info } = await run(podConfig({ linux: { cgroup_parent: parent, resources: { memory_limit_in_bytes: String(256 * 1024 * 1024), cpu_shares: '512' } } }));
    expect(info.cgroup).toMatchObject({ path: parent, parent });
    const memory = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').find((l) => / - cgroup cgroup .*\bmemory\b/.test(l))?.split(' ')[4];
    const v2 = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').find((l) => / - cgroup2 /.test(l))?.split(' ')[4];
    if (memory) expect(readFileSync(join(memory, parent, 'memory.limit_in_bytes'), 'utf8').trim()).toBe(String(256 * 1024 * 1024));
    else expect(readFileSync(join(v2 as string, parent, 'memory.max'), 'utf8').trim()).toBe(String(256 * 1024 * 1024));
    expect(cgroupDirsLeft(parent).length).toBeGreaterThan(0);
    await remove(id);
    expect(cgroupDirsLeft(parent)).toEqual([]);
    expect(cgroupDirsLeft(parent.split('/').slice(0, 2).join('/'))).toEqual([]);
    const bad = await grpcError(daemon.client.runtime.call('RunPodSandbox', { config: podConfig({ linux: { cgroup_parent: '/a/../../etc' } }) }));
    expect(bad.code).toBe(grpcStatus.INVALID_ARGUMENT);
  });

  it('lists sandboxes by id prefix, state and labels', async () => {
    const a = await run(podConfig({ labels: { tier: 'front', group: 'list' } }));
    const b = await run(podConfig({ labels: { tier: 'back', group: 'list' } }));
    await daemon.client.runtime.call('StopPodSandbox', { pod_sandbox_id: b.id });
    const ids = async (filter: object): Promise<string[]> =>
      ((await daemon.client.runtime.call('ListPodSandbox', { filter })).items ?? []).map((i) => i.id ?? '').sort();
    expect(await ids({ label_selector: { group: 'list' } })).toEqual([a.id, b.id].sort());
    expect(await ids({ label_selector: { group: 'list', tier: 'front' } })).toEqual([a.id]);
    expect(await ids({ id: a.id.slice(0, 12) })).toEqual([a.id]);
    expect(await ids({ label_selector: { group: 'list' }, state: { state: 'SANDBOX_NOTREADY' } })).toEqual([b.id]);
    expect(await ids({ label_selector: { group: 'list' }, state: { state: 'SANDBOX_READY' } })).toEqual([a.id]);
    const stats = await daemon.client.runtime.call('ListPodSandboxStats', { filter: { label_selector: { group: 'list' } } });
    expect((stats.stats ?? []).map((s) => s.attributes?.id).sort()).toEqual([a.id, b.id].sort());
    await remove(a.id);
    await remove(b.id);
  });

  it('makes Stop and Remove idempotent, also when the netns is already gone', async () => {
    const { id, ip, info } = await run(podConfig());
    // Someone removed the pinned netns behind keelson's back.
    execFileSync('umount', [info.namespaces.net as string]);
    await daemon.client.runtime.call('StopPodSandbox', { pod_sandbox_id: id });
    expect(net.allocatedIps()).not.toContain(ip);
    await daemon.client.runtime.call('StopPodSandbox', { pod_sandbox_id: id });
    const s = await daemon.client.runtime.call('PodSandboxStatus', { pod_sandbox_id: id });
    expect(s.status?.state).toBe('SANDBOX_NOTREADY');
    await daemon.client.runtime.call('RemovePodSandbox', { pod_sandbox_id: id });
    await daemon.client.runtime.call('RemovePodSandbox', { pod_sandbox_id: id });
    // Removed is gone: Stop of an unknown id is NotFound, as containerd answers.
    const gone = await grpcError(daemon.client.runtime.call('StopPodSandbox', { pod_sandbox_id: id }));
    expect(gone.code).toBe(grpcStatus.NOT_FOUND);
    expect(entries(join(daemon.state, 'sandboxes'))).not.toContain(id);
    const empty = await grpcError(daemon.client.runtime.call('StopPodSandbox', { pod_sandbox_id: '' }));
    expect(empty.code).toBe(grpcStatus.INVALID_ARGUMENT);
  });

  it('stops and removes a pod whose plugin state is already gone (IP file, bridge)', async () => {
    // (The previous test leaves masquerade rules the bridge plugin cannot find without the netns.)
    const before = net.iptablesLeftovers();
    const { id, ip } = await run(podConfig({ port_mappings: [{ protocol: 'TCP', container_port: 80, host_port: randomInt(30000, 40000) }] }));
    execFileSync('rm', ['-f', join(net.ipamDir, ip)]);
    execFileSync('ip', ['link', 'del', net.bridge]);
    await remove(id);
    expect(entries(join(daemon.state, 'sandboxes'))).not.toContain(id);
    expect(net.iptablesLeftovers()).toEqual(before);
  });
});
