// A whole pod through the real daemon's CRI socket, as kubelet drives it: pull from the
// registry fixture, RunPodSandbox on a per-run bridge, containers under conmon + runc, logs,
// exec, pod networking, a shared PID namespace, a daemon kill -9, and nothing left at the end.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ContainerConfig, PodSandboxConfig } from '../../../src/cri/generated/cri-types.js';
import { makeTestNetwork, writeNetworkConfig, type TestNetwork } from '../../fixtures/cni.js';
import { startKeelson, type KeelsonDaemon } from '../../fixtures/daemon.js';
import { buildImage } from '../../fixtures/image-builder.js';
import { startRegistry, type Registry } from '../../fixtures/registry.js';
import { mountsUnder, podConfig, unmountAllUnder } from '../../fixtures/sandbox.js';

let registry: Registry;
let daemon: KeelsonDaemon;
let net: TestNetwork;
let image: string;
const logRoot = `/tmp/keelson-e2e-logs-${randomBytes(4).toString('hex')}`;

function container(name: string, command: string[], extra: Partial<ContainerConfig> = {}): ContainerConfig {
  return { metadata: { name, attempt: 0 }, image: { image }, command, log_path: `${name}.log`, ...extra };
}

async function runPod(overrides: Partial<PodSandboxConfig> = {}): Promise<{ id: string; ip: string; config: PodSandboxConfig }> {
  const config = podConfig({ log_directory: join(logRoot, randomBytes(4).toString('hex')), ...overrides });
  const r = await daemon.client.runtime.call('RunPodSandbox', { config });
  const id = r.pod_sandbox_id ?? '';
  const s = await daemon.client.runtime.call('PodSandboxStatus', { pod_sandbox_id: id });
  return { id, ip: s.status?.network?.ip ?? '', config };
}

async function startContainer(podId: string, podConfigUsed: PodSandboxConfig, config: ContainerConfig): Promise<string> {
  const { container_id: id } = await daemon.client.runtime.call('CreateContainer', {
    pod_sandbox_id: podId, config, sandbox_config: podConfigUsed,
  });
  await daemon.client.runtime.call('StartContainer', { container_id: id ?? '' });
  return id ?? '';
}

async function exec(id: string, cmd: string[]): Promise<{ code: number; out: string }> {
  const r = await daemon.client.runtime.call('ExecSync', { container_id: id, cmd, timeout: '10' });
  return { code: r.exit_code ?? -1, out: (r.stdout ?? Buffer.alloc(0)).toString() };
}

async function waitFor<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await fn().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function conmonPidsUnder(state: string): number[] {
  const out = execFileSync('ps', ['-eo', 'pid=,args='], { encoding: 'utf8' });
  return out.split('\n').filter((l) => l.includes('conmon') && l.includes(state)).map((l) => Number(l.trim().split(/\s+/)[0]));
}

beforeAll(async () => {
  registry = await startRegistry();
  const built = await buildImage({ config: { Env: ['FROM_IMAGE=yes', 'PATH=/bin:/usr/bin:/sbin:/usr/sbin'], Cmd: ['sh'] } });
  const repo = `e2e/busybox-${randomBytes(3).toString('hex')}`;
  await registry.push(repo, built, 'v1');
  image = `${registry.host}/${repo}:v1`;
  daemon = await startKeelson();
  net = makeTestNetwork(daemon.base);
  await writeNetworkConfig(daemon.cniConfDir, net);
  await daemon.client.image.call('PullImage', { image: { image } });
});

afterAll(async () => {
  if (daemon) {
    const pods = await daemon.client.runtime.call('ListPodSandbox', {}).catch(() => ({ items: [] }));
    for (const p of pods.items ?? []) {
      await daemon.client.runtime.call('StopPodSandbox', { pod_sandbox_id: p.id ?? '' }).catch(() => undefined);
      await daemon.client.runtime.call('RemovePodSandbox', { pod_sandbox_id: p.id ?? '' }).catch(() => undefined);
    }
    const state = daemon.state;
    await daemon.stop();
    for (const pid of conmonPidsUnder(state)) process.kill(pid, 'SIGKILL');
    unmountAllUnder(daemon.base);
    await daemon.destroy();
  }
  net?.cleanup();
  await registry?.stop();
  execFileSync('rm', ['-rf', logRoot]);
});

describe('a pod through the CRI socket', () => {
  it('runs two containers that share the pod network, logs in CRI format, and answers exec', async () => {
    const pod = await runPod({ port_mappings: [] });
    expect(pod.ip).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    const web = await startContainer(pod.id, pod.config, container('web', ['sh', '-c', 'mkdir -p /www && echo served-by-keelson > /www/index.html && echo started; echo oops >&2; exec httpd -f -p 8080 -h /www']));
    const client = await startContainer(pod.id, pod.config, container('client', ['sleep', '3600']));

    const status = await daemon.client.runtime.call('ContainerStatus', { container_id: web });
    expect(status.status?.state).toBe('CONTAINER_RUNNING');
    const logPath = join(pod.config.log_directory ?? '', 'web.log');
    const log = await waitFor('the log lines', async () => {
      const text = existsSync(logPath) ? readFileSync(logPath, 'utf8') : '';
      return text.includes('oops') ? text : undefined;
    });
    expect(log).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+(Z|[+-]\d\d:\d\d) stdout F started$/m);
    expect(log).toMatch(/^\S+ stderr F oops$/m);

    // localhost inside the pod reaches the other container; the host reaches the pod IP.
    const fetched = await waitFor('httpd over localhost', async () => {
      const r = await exec(client, ['wget', '-q', '-O', '-', 'http://127.0.0.1:8080/index.html']);
      return r.code === 0 ? r.out : undefined;
    });
    expect(fetched).toBe('served-by-keelson\n');
    const fromHost = execFileSync('timeout', ['5', 'busybox', 'wget', '-q', '-O', '-', `http://${pod.ip}:8080/index.html`], { encoding: 'utf8' });
    expect(fromHost).toBe('served-by-keelson\n');

    expect((await exec(client, ['hostname'])).out.trim()).toBe(pod.config.hostname);
    expect((await exec(client, ['sh', '-c', 'echo $FROM_IMAGE'])).out.trim()).toBe('yes');
    expect((await exec(client, ['sh', '-c', 'exit 3'])).code).toBe(3);

    const listed = await daemon.client.runtime.call('ListContainers', { filter: { pod_sandbox_id: pod.id } });
    expect((listed.containers ?? []).map((c) => c.metadata?.name).sort()).toEqual(['client', 'web']);

    await daemon.client.runtime.call('StopPodSandbox', { pod_sandbox_id: pod.id });
    const stopped = await daemon.client.runtime.call('ContainerStatus', { container_id: web });
    expect(stopped.status?.state).toBe('CONTAINER_EXITED');
    await daemon.client.runtime.call('RemovePodSandbox', { pod_sandbox_id: pod.id });
    expect((await daemon.client.runtime.call('ListContainers', {})).containers ?? []).toEqual([]);
    await expect(daemon.client.runtime.call('ContainerStatus', { container_id: web })).rejects.toMatchObject({ code: 5 });
  });

  it('shares one PID namespace among the containers of a pod that asks for it', async () => {
    const shared = { linux: { security_context: { namespace_options: { pid: 'POD' as const } } } };
    const pod = await runPod(shared);
    const sleeper = await startContainer(pod.id, pod.config, container('sleeper', ['sleep', '4242'], shared));
    const looker = await startContainer(pod.id, pod.config, container('looker', ['sleep', '3600'], shared));
    const ps = await exec(looker, ['ps', '-o', 'pid,args']);
    expect(ps.out).toContain('sleep 4242');
    expect(ps.out).toMatch(/^\s*1\s+\/catatonit -P$/m);
    expect(sleeper).not.toBe(looker);
    await daemon.client.runtime.call('StopPodSandbox', { pod_sandbox_id: pod.id });
    await daemon.client.runtime.call('RemovePodSandbox', { pod_sandbox_id: pod.id });
  });

  it('keeps containers running across a daemon kill -9 and reports their exit afterwards', async () => {
    const pod = await runPod();
    const id = await startContainer(pod.id, pod.config, container('survivor', ['sh', '-c', 'while [ ! -e /tmp/stop ]; do sleep 0.1; done; exit 7']));
    await daemon.kill();
    const restarted = await startKeelson({ base: daemon.base });
    daemon = restarted;
    const status = await daemon.client.runtime.call('ContainerStatus', { container_id: id });
    expect(status.status?.state).toBe('CONTAINER_RUNNING');
    expect((await exec(id, ['touch', '/tmp/stop'])).code).toBe(0);
    const exited = await waitFor('the exit', async () => {
      const s = await daemon.client.runtime.call('ContainerStatus', { container_id: id });
      return s.status?.state === 'CONTAINER_EXITED' ? s.status : undefined;
    });
    expect(exited.exit_code).toBe(7);
    await daemon.client.runtime.call('StopPodSandbox', { pod_sandbox_id: pod.id });
    await daemon.client.runtime.call('RemovePodSandbox', { pod_sandbox_id: pod.id });
  });

  it('leaves no conmon, mount, IP or dir behind once every pod is removed', async () => {
    expect(conmonPidsUnder(daemon.state)).toEqual([]);
    expect(mountsUnder(join(daemon.root, 'containers'))).toEqual([]);
    expect(mountsUnder(join(daemon.state, 'sandboxes'))).toEqual([]);
    expect(net.allocatedIps()).toEqual([]);
    const containers = existsSync(join(daemon.root, 'containers')) ? readFileSync('/proc/self/mountinfo', 'utf8') : '';
    expect(containers).not.toContain(join(daemon.root, 'containers'));
  });
});
