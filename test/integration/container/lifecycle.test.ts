import { readFile, readdir } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { containerRequest, startServiceHarness, type ServiceHarness } from '../../fixtures/container-service.js';
import { cgroupExists } from '../../fixtures/pod-provider.js';

let h: ServiceHarness;

beforeAll(async () => {
  h = await startServiceHarness();
  await h.images.addImage('busybox');
});
afterAll(async () => { await h?.destroy(); });

async function waitFor<T>(fn: () => Promise<T | null | undefined | false>, ms = 10_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('container lifecycle (runc under conmon)', () => {
  it('creates, starts, logs in CRI format and records the exit code', async () => {
    const pod = await h.pods.createPod();
    const id = await h.service.create(pod.id, containerRequest({
      name: 'echo', command: ['sh', '-c', 'echo out-line; echo err-line >&2; exit 3'], logPath: 'echo.log',
    }));
    expect((await h.service.status(id)).state).toBe('created');
    await h.service.start(id);
    const done = await waitFor(async () => { const s = await h.service.status(id); return s.state === 'exited' && s; });
    expect(done.exitCode).toBe(3);
    expect(done.reason).toBe('Error');
    expect(BigInt(done.startedAt)).toBeGreaterThan(0n);
    expect(BigInt(done.finishedAt)).toBeGreaterThanOrEqual(BigInt(done.startedAt) - 1_000_000_000n);
    const log = await readFile(join(pod.logDirectory as string, 'echo.log'), 'utf8');
    const lines = log.trim().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines.find((l) => l.includes('out-line'))).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+(Z|[+-]\d\d:\d\d) stdout F out-line$/);
    expect(lines.find((l) => l.includes('err-line'))).toMatch(/ stderr F err-line$/);
    await h.service.remove(id);
    await expect(h.service.status(id)).rejects.toThrow(/not found/);
    await h.service.remove(id); // idempotent
  });

  it('stops a running container with SIGTERM, then SIGKILL after the timeout', async () => {
    const pod = await h.pods.createPod();
    const polite = await h.service.create(pod.id, containerRequest({
      name: 'polite', command: ['sh', '-c', 'trap "exit 42" TERM; while true; do sleep 0.1; done'],
    }));
    await h.service.start(polite);
    expect((await h.service.status(polite)).state).toBe('running');
    await h.service.stop(polite, 10);
    const s1 = await h.service.status(polite);
    expect(s1.state).toBe('exited');
    expect(s1.exitCode).toBe(42); // its TERM trap ran
    await h.service.stop(polite, 10); // idempotent

    const stubborn = await h.service.create(pod.id, containerRequest({
      name: 'stubborn', command: ['sh', '-c', 'trap "" TERM; while true; do sleep 0.1; done'],
    }));
    await h.service.start(stubborn);
    const t0 = Date.now();
    await h.service.stop(stubborn, 1);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(900);
    expect((await h.service.status(stubborn)).exitCode).toBe(137);
    await h.service.remove(polite);
    await h.service.remove(stubborn);
  });

  it('stops with the image\'s StopSignal', async () => {
    await h.images.addImage('usr1', { config: { StopSignal: 'SIGUSR1' } });
    const pod = await h.pods.createPod();
    const id = await h.service.create(pod.id, containerRequest({
      name: 'usr1', image: 'usr1', command: ['sh', '-c', 'trap "exit 11" USR1; trap "exit 12" TERM; while true; do sleep 0.1; done'],
    }));
    await h.service.start(id);
    await h.service.stop(id, 10);
    expect((await h.service.status(id)).exitCode).toBe(11);
    await h.service.remove(id);
  });

  it('completes with exit 0 and reason Completed', async () => {
    const pod = await h.pods.createPod();
    const id = await h.service.create(pod.id, containerRequest({ name: 'ok', command: ['true'] }));
    await h.service.start(id);
    const s = await waitFor(async () => { const x = await h.service.status(id); return x.state === 'exited' && x; });
    expect(s.exitCode).toBe(0);
    expect(s.reason).toBe('Completed');
    await h.service.remove(id);
  });

  it('refuses a duplicate name and attempt in one sandbox', async () => {
    const pod = await h.pods.createPod();
    const id = await h.service.create(pod.id, containerRequest({ name: 'dup', command: ['true'] }));
    await expect(h.service.create(pod.id, containerRequest({ name: 'dup', command: ['true'] }))).rejects.toThrow(/already exists/);
    await h.service.remove(id);
    expect(existsSync(join(h.base, 'root', 'containers', id))).toBe(false);
  });

  it('removes a created, never started container', async () => {
    const pod = await h.pods.createPod();
    const id = await h.service.create(pod.id, containerRequest({ name: 'idle', command: ['sleep', '1000'] }));
    await h.service.remove(id);
    expect(await h.service.list()).toEqual([]);
  });

  it('leaves nothing after removal: no conmon, runc state, mount, cgroup or dir; conmon is not our child', async () => {
    const pod = await h.pods.createPod();
    const id = await h.service.create(pod.id, containerRequest({ name: 'gone', command: ['sleep', '1000'] }));
    await h.service.start(id);
    const stateDir = join(h.base, 'state', 'containers', id);
    const conmonPid = Number(await readFile(join(stateDir, 'conmon.pid'), 'utf8'));
    const stat = (await readFile(`/proc/${conmonPid}/stat`, 'utf8')).replace(/^.*\) /, '').split(' ');
    expect(Number(stat[1])).not.toBe(process.pid); // ppid: double-forked away from the daemon
    const ourSid = Number((await readFile('/proc/self/stat', 'utf8')).replace(/^.*\) /, '').split(' ')[3]);
    expect(Number(stat[3])).not.toBe(ourSid); // its own session: a daemon's death does not reach it
    const { cgroupsPath } = await h.service.status(id);
    expect(await cgroupExists(cgroupsPath)).toBe(true);

    await h.service.remove(id);
    expect(existsSync(`/proc/${conmonPid}`) && !(await readFile(`/proc/${conmonPid}/stat`, 'utf8')).includes(') Z')).toBe(false);
    expect(await cgroupExists(cgroupsPath)).toBe(false);
    expect(existsSync(stateDir)).toBe(false);
    expect(existsSync(join(h.base, 'root', 'containers', id))).toBe(false);
    expect(await readdir(join(h.base, 'state', 'runtimes', 'runc'))).toEqual([]);
    expect(await readdir(join(h.base, 'state', 'exits'))).toEqual([]);
    expect(h.images.mountedCount()).toBe(0);
    const mounts = await readFile('/proc/self/mountinfo', 'utf8');
    expect(mounts).not.toContain(id);
  });
});
