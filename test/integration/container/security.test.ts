import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SandboxView } from '../../../src/container/dependencies.js';
import { containerRequest, startServiceHarness, type ServiceHarness } from '../../fixtures/container-service.js';
import { runToExit } from '../../fixtures/container-run.js';

let h: ServiceHarness;
let pod: SandboxView;
let n = 0;
const req = (o: Parameters<typeof containerRequest>[0] = {}) => containerRequest({ name: `c${n++}`, logPath: `c${n}.log`, ...o });
const sec = (o: Partial<ReturnType<typeof containerRequest>['security']>) => ({ ...containerRequest().security, ...o });

beforeAll(async () => {
  h = await startServiceHarness();
  await h.images.addImage('busybox');
  await h.images.addImage('configured', {
    config: { Env: ['PATH=/bin', 'FROM_IMAGE=image', 'OVERRIDDEN=image'], Entrypoint: ['/bin/sh', '-c'],
      Cmd: ['echo "args:$0:$FROM_IMAGE:$OVERRIDDEN:$(pwd):$(id -u)"'], WorkingDir: '/tmp', User: 'user' },
  });
  await h.images.addImage('huge-uid', { config: { User: '2147483648' } });
  await h.images.addImage('leaky-workdir', { config: { WorkingDir: '/proc/self/fd/7' } });
  pod = await h.pods.createPod();
});
afterAll(async () => { await h?.destroy(); });

describe('process from image config and CRI config', () => {
  it('takes env, entrypoint, cmd, workdir and user from the image', async () => {
    const r = await runToExit(h.service, pod.id, req({ image: 'configured' }));
    expect(r.stdout).toBe('args:/bin/sh:image:image:/tmp:1000\n');
  });

  it('lets the CRI config override them', async () => {
    const r = await runToExit(h.service, pod.id, req({
      image: 'configured', args: ['echo "$OVERRIDDEN:$(pwd):$(id -u)"'], workingDir: '/etc',
      envs: [{ key: 'OVERRIDDEN', value: 'cri' }], security: sec({ runAsUser: 0 }),
    }));
    expect(r.stdout).toBe('cri:/etc:0\n');
    const r2 = await runToExit(h.service, pod.id, req({ image: 'configured', command: ['echo', 'command only'] }));
    expect(r2.stdout).toBe('command only\n');
  });

  it('runs as a non-root user with its groups from /etc/group plus the requested ones', async () => {
    const r = await runToExit(h.service, pod.id, req({
      command: ['id'], security: sec({ runAsUsername: 'user', supplementalGroups: [3000] }),
    }));
    expect(r.stdout).toMatch(/^uid=1000\(user\) gid=1000\(user\) groups=1000\(user\),2000\(extra\),3000/);
    const r2 = await runToExit(h.service, pod.id, req({ command: ['id', '-G'], security: sec({ runAsUser: 1000, runAsGroup: 2000 }) }));
    // run_as_group replaces the passwd primary group; membership of "extra" (2000) stays.
    expect(r2.stdout.trim().split(' ')).toEqual(['2000']);
  });

  it('refuses hostile values and leaves nothing behind', async () => {
    const before = await readdir(join(h.base, 'root', 'containers'));
    await expect(h.service.create(pod.id, req({ image: 'huge-uid', command: ['true'] }))).rejects.toThrow(/not a valid id/);
    await expect(h.service.create(pod.id, req({ image: 'leaky-workdir', command: ['true'] }))).rejects.toThrow(/proc.*fd/);
    await expect(h.service.create(pod.id, req({ command: ['true'], logPath: '../../escape.log' }))).rejects.toThrow(/leaves the log directory/);
    await expect(h.service.create(pod.id, req({ command: ['true'], envs: [{ key: 'A\nB', value: 'x' }] }))).rejects.toThrow(/newline/);
    await expect(h.service.create(pod.id, req({ command: ['true'],
      mounts: [{ containerPath: '/mnt/../etc', hostPath: '/tmp', readonly: false, propagation: 'PROPAGATION_PRIVATE', recursiveReadOnly: false }] })))
      .rejects.toThrow(/"\.\."/);
    await expect(h.service.create(pod.id, req({ image: 'missing:latest', command: ['true'] }))).rejects.toThrow(/not on this node/);
    await expect(h.service.create(pod.id, req({ command: ['/no/such/binary'] }))).rejects.toThrow(/runc create failed.*no such file/i);
    expect(await readdir(join(h.base, 'root', 'containers'))).toEqual(before);
    const podCgroup = join('/sys/fs/cgroup/memory', pod.cgroupParent);
    expect((await readdir(podCgroup).catch(() => [])).filter((e) => e.startsWith('keelson-'))).toEqual([]);
    expect(await readdir(join(h.base, 'state', 'containers')).catch(() => [])).toEqual([]);
    expect(h.images.mountedCount()).toBe(0);
    expect(await h.service.list()).toEqual([]);
  });
});

describe('devices', () => {
  it('passes a host device in under another name', async () => {
    const r = await runToExit(h.service, pod.id, req({
      command: ['sh', '-c', 'ls -l /dev/keelson-null && echo data > /dev/keelson-null && echo wrote'],
      devices: [{ containerPath: '/dev/keelson-null', hostPath: '/dev/null', permissions: 'rw' }],
    }));
    expect(r.stdout).toMatch(/^crw.* 1, +3 .*\/dev\/keelson-null\nwrote\n$/);
    await expect(h.service.create(pod.id, req({ command: ['true'], devices: [{ containerPath: '/dev/x', hostPath: '/etc/passwd', permissions: 'rw' }] })))
      .rejects.toThrow(/not a device/);
  });
});

describe('security context', () => {
  it('a readonly rootfs refuses writes, a writable one takes them', async () => {
    const ro = await runToExit(h.service, pod.id, req({ command: ['sh', '-c', 'touch /newfile'], security: sec({ readonlyRootfs: true }) }));
    expect(ro.status.exitCode).not.toBe(0);
    expect(ro.stderr).toMatch(/Read-only file system/);
    const rw = await runToExit(h.service, pod.id, req({ command: ['sh', '-c', 'touch /newfile'] }));
    expect(rw.status.exitCode).toBe(0);
  });

  it('a dropped capability is refused (chown without CAP_CHOWN), kept otherwise', async () => {
    const cmd = ['sh', '-c', 'touch /tmp/f && chown 1000 /tmp/f'];
    const dropped = await runToExit(h.service, pod.id, req({ command: cmd, security: sec({ capabilities: { drop: ['CHOWN'] } }) }));
    expect(dropped.status.exitCode).not.toBe(0);
    expect(dropped.stderr).toMatch(/Operation not permitted/);
    const kept = await runToExit(h.service, pod.id, req({ command: cmd }));
    expect(kept.status.exitCode).toBe(0);
  });

  it('has an empty inheritable set and the default bounding set', async () => {
    const r = await runToExit(h.service, pod.id, req({ command: ['sh', '-c', 'grep -E "^Cap(Inh|Bnd)" /proc/self/status'] }));
    expect(r.stdout).toMatch(/CapInh:\s+0000000000000000/);
    expect(r.stdout).toMatch(/CapBnd:\s+00000000a80425fb/);
  });

  it('RuntimeDefault seccomp blocks unshare(2) that Unconfined allows, and opens mount(2) to SYS_ADMIN', async () => {
    // A user namespace needs no capability, so only seccomp can refuse it.
    const userns = ['sh', '-c', 'unshare -U true && echo unshared'];
    const blocked = await runToExit(h.service, pod.id, req({ command: userns, security: sec({}) }));
    expect(blocked.status.exitCode).not.toBe(0);
    expect(blocked.stderr).toMatch(/Operation not permitted|permission denied/i);
    const allowed = await runToExit(h.service, pod.id, req({ command: userns, security: sec({ seccomp: { type: 'Unconfined' } }) }));
    expect(allowed.stdout).toBe('unshared\n');
    const mount = ['sh', '-c', 'mkdir -p /m && mount -t tmpfs t /m && echo mounted'];
    const admin = await runToExit(h.service, pod.id, req({ command: mount, security: sec({ capabilities: { add: ['SYS_ADMIN'] } }) }));
    expect(admin.stdout).toBe('mounted\n');
  });

  it('a memory limit ends in OOMKilled', async () => {
    const r = await runToExit(h.service, pod.id, req({
      command: ['sh', '-c', 'x=aaaaaaaaaaaaaaaa; while true; do x="$x$x"; done'],
      resources: { memoryLimit: 32 << 20 },
    }));
    expect(r.status.exitCode).toBe(137);
    expect(r.status.reason).toBe('OOMKilled');
  });
});

describe('pod sharing', () => {
  it('two containers of one pod talk over localhost and share /dev/shm and the hostname', async () => {
    const server = await h.service.create(pod.id, req({ command: ['sh', '-c', 'echo shared > /dev/shm/token; echo pong | nc -l -p 7777'] }));
    await h.service.start(server);
    try {
      const client = await runToExit(h.service, pod.id, req({
        command: ['sh', '-c', 'for i in $(seq 50); do nc 127.0.0.1 7777 < /dev/null && break; sleep 0.1; done; cat /dev/shm/token; hostname'],
      }));
      expect(client.stdout).toBe(`pong\nshared\n${pod.metadata.name}\n`);
    } finally {
      await h.service.remove(server);
    }
  });

  it('with a pod pid namespace, containers see each other', async () => {
    const shared = await h.pods.createPod({ pidMode: 'pod' });
    const sleeper = await h.service.create(shared.id, req({ command: ['sleep', '321'] }));
    await h.service.start(sleeper);
    try {
      const r = await runToExit(h.service, shared.id, req({ command: ['ps', '-o', 'args'] }));
      expect(r.stdout).toContain('sleep 321');
    } finally {
      await h.service.remove(sleeper);
      await h.pods.destroyPod(shared.id);
    }
  });
});

it('nothing is left after removal', async () => {
  expect(await h.service.list()).toEqual([]);
  expect(h.images.mountedCount()).toBe(0);
  expect(await readdir(join(h.base, 'state', 'runtimes', 'runc'))).toEqual([]);
  expect(existsSync(join(h.base, 'state', 'exits')) ? await readdir(join(h.base, 'state', 'exits')) : []).toEqual([]);
});
