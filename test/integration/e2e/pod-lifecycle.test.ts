// A whole pod through the real daemon's CRI socket, as kubelet drives it: pull from the
// registry fixture, RunPodSandbox on a per-run bridge, containers under conmon + runc, logs,
// exec, pod networking, a shared PID namespace, a daemon kill -9, and nothing left at the end.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startKeelson } from '../../fixtures/daemon.js';
import { PodEnv, waitFor } from '../../fixtures/pod-env.js';
import { mountsUnder } from '../../fixtures/sandbox.js';

let env: PodEnv;

beforeAll(async () => {
  env = await PodEnv.start({ config: { Env: ['FROM_IMAGE=yes', 'PATH=/bin:/usr/bin:/sbin:/usr/sbin'], Cmd: ['sh'] } });
});

afterAll(async () => {
  await env?.destroy();
});

describe('a pod through the CRI socket', () => {
  it('runs two containers that share the pod network, logs in CRI format, and answers exec', async () => {
    const rt = env.daemon.client.runtime;
    const pod = await env.runPod();
    expect(pod.ip).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    const web = await env.startContainer(pod, env.container('web', ['sh', '-c', 'mkdir -p /www && echo served-by-keelson > /www/index.html && echo started; echo oops >&2; exec httpd -f -p 8080 -h /www']));
    const client = await env.startContainer(pod, env.container('client', ['sleep', '3600']));

    expect((await rt.call('ContainerStatus', { container_id: web })).status?.state).toBe('CONTAINER_RUNNING');
    const logPath = join(pod.config.log_directory ?? '', 'web.log');
    const log = await waitFor('the log lines', async () => {
      const text = existsSync(logPath) ? readFileSync(logPath, 'utf8') : '';
      return text.includes('oops') ? text : undefined;
    });
    expect(log).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+(Z|[+-]\d\d:\d\d) stdout F started$/m);
    expect(log).toMatch(/^\S+ stderr F oops$/m);

    // localhost inside the pod reaches the other container; the host reaches the pod IP.
    const fetched = await waitFor('httpd over localhost', async () => {
      const r = await env.exec(client, ['wget', '-q', '-O', '-', 'http://127.0.0.1:8080/index.html']);
      return r.code === 0 ? r.out : undefined;
    });
    expect(fetched).toBe('served-by-keelson\n');
    const fromHost = execFileSync('timeout', ['5', 'busybox', 'wget', '-q', '-O', '-', `http://${pod.ip}:8080/index.html`], { encoding: 'utf8' });
    expect(fromHost).toBe('served-by-keelson\n');

    expect((await env.exec(client, ['hostname'])).out.trim()).toBe(pod.config.hostname);
    expect((await env.exec(client, ['sh', '-c', 'echo $FROM_IMAGE'])).out.trim()).toBe('yes');
    expect((await env.exec(client, ['sh', '-c', 'exit 3'])).code).toBe(3);

    const listed = await rt.call('ListContainers', { filter: { pod_sandbox_id: pod.id } });
    expect((listed.containers ?? []).map((c) => c.metadata?.name).sort()).toEqual(['client', 'web']);

    await rt.call('StopPodSandbox', { pod_sandbox_id: pod.id });
    expect((await rt.call('ContainerStatus', { container_id: web })).status?.state).toBe('CONTAINER_EXITED');
    await rt.call('RemovePodSandbox', { pod_sandbox_id: pod.id });
    expect((await rt.call('ListContainers', {})).containers ?? []).toEqual([]);
    await expect(rt.call('ContainerStatus', { container_id: web })).rejects.toMatchObject({ code: 5 });
  });

  it('shares one PID namespace among the containers of a pod that asks for it', async () => {
    const shared = { linux: { security_context: { namespace_options: { pid: 'POD' as const } } } };
    const pod = await env.runPod(shared);
    await env.startContainer(pod, env.container('sleeper', ['sleep', '4242'], shared));
    const looker = await env.startContainer(pod, env.container('looker', ['sleep', '3600'], shared));
    const ps = await env.exec(looker, ['ps', '-o', 'pid,args']);
    expect(ps.out).toContain('sleep 4242');
    expect(ps.out).toMatch(/^\s*1\s+\/catatonit -P$/m);
    await env.removePod(pod.id);
  });

  it('keeps containers running across a daemon kill -9 and reports their exit afterwards', async () => {
    const pod = await env.runPod();
    const id = await env.startContainer(pod, env.container('survivor', ['sh', '-c', 'while [ ! -e /tmp/stop ]; do sleep 0.1; done; exit 7']));
    await env.daemon.kill();
    env.daemon = await startKeelson({ base: env.daemon.base });
    const rt = env.daemon.client.runtime;
    expect((await rt.call('ContainerStatus', { container_id: id })).status?.state).toBe('CONTAINER_RUNNING');
    expect((await env.exec(id, ['touch', '/tmp/stop'])).code).toBe(0);
    const exited = await waitFor('the exit', async () => {
      const s = await rt.call('ContainerStatus', { container_id: id });
      return s.status?.state === 'CONTAINER_EXITED' ? s.status : undefined;
    });
    expect(exited.exit_code).toBe(7);
    await env.removePod(pod.id);
  });

  it('leaves no conmon, mount, IP or dir behind once every pod is removed', async () => {
    expect(env.conmonPids()).toEqual([]);
    expect(mountsUnder(join(env.daemon.root, 'container-roots'))).toEqual([]);
    expect(mountsUnder(join(env.daemon.state, 'sandboxes'))).toEqual([]);
    expect(env.net.allocatedIps()).toEqual([]);
    expect(existsSync(join(env.daemon.root, 'containers')) ? execFileSync('ls', [join(env.daemon.root, 'containers')], { encoding: 'utf8' }) : '').toBe('');
  });
});
