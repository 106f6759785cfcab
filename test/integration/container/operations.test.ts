import { existsSync } from 'node:fs';
import { readFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SandboxView } from '../../../src/container/dependencies.js';
import type { ContainerEvent } from '../../../src/container/events.js';
import { containerRequest, startServiceHarness, type ServiceHarness } from '../../fixtures/container-service.js';
import { parseCriLog, runToExit, streamText, waitExited, waitFor } from '../../fixtures/container-run.js';

let h: ServiceHarness;
let pod: SandboxView;
let n = 0;
const req = (o: Parameters<typeof containerRequest>[0] = {}) => containerRequest({ name: `op${n++}`, logPath: `op${n}.log`, ...o });

beforeAll(async () => {
  h = await startServiceHarness();
  await h.images.addImage('busybox');
  pod = await h.pods.createPod();
});
afterAll(async () => { await h?.destroy(); });

describe('logs', () => {
  it('splits a long line into partial (P) records ending with a full (F) one', async () => {
    const r = await runToExit(h.service, pod.id, req({ command: ['sh', '-c', 'head -c 20000 /dev/zero | tr "\\0" a; echo; echo short'] }));
    expect(r.stdout).toBe(`${'a'.repeat(20000)}\nshort\n`);
  });

  it('keeps P records in the file for a long line', async () => {
    const id = await h.service.create(pod.id, req({ command: ['sh', '-c', 'head -c 20000 /dev/zero | tr "\\0" b; echo'] }));
    await h.service.start(id);
    const status = await waitExited(h.service, id);
    const lines = parseCriLog(await readFile(status.logPath, 'utf8'));
    expect(lines.length).toBeGreaterThan(1);
    expect(lines.slice(0, -1).every((l) => l.tag === 'P')).toBe(true);
    expect(lines.at(-1)?.tag).toBe('F');
    expect(streamText(lines, 'stdout')).toBe(`${'b'.repeat(20000)}\n`);
    await h.service.remove(id);
  });

  it('reopens the log after rotation', async () => {
    const id = await h.service.create(pod.id, req({ command: ['sh', '-c', 'i=0; while true; do i=$((i+1)); echo tick $i; sleep 0.05; done'] }));
    await h.service.start(id);
    const { logPath } = await h.service.status(id);
    await waitFor(async () => (await readFile(logPath, 'utf8')).includes('tick 3'));
    await rename(logPath, `${logPath}.1`);
    await h.service.reopenLog(id);
    const fresh = await waitFor(async () => {
      const text = await readFile(logPath, 'utf8').catch(() => '');
      return text.includes('tick') && text;
    });
    expect(parseCriLog(fresh)[0]?.stream).toBe('stdout');
    expect((await readFile(`${logPath}.1`, 'utf8'))).toContain('tick 1\n');
    await h.service.remove(id);
  });
});

describe('exec sync', () => {
  it('returns output and exit code, honours the timeout, bounds each stream at 16 MiB', async () => {
    const id = await h.service.create(pod.id, req({ command: ['sleep', '1000'] }));
    await h.service.start(id);
    try {
      const r = await h.service.execSync(id, ['sh', '-c', 'echo out; echo err >&2; exit 5'], 10);
      expect(r).toMatchObject({ exitCode: 5 });
      expect(r.stdout.toString()).toBe('out\n');
      expect(r.stderr.toString()).toBe('err\n');
      const t0 = Date.now();
      await expect(h.service.execSync(id, ['sleep', '30'], 1)).rejects.toThrow(/did not finish within 1 s/);
      expect(Date.now() - t0).toBeLessThan(5000);
      const ps = await h.service.execSync(id, ['ps', '-o', 'args'], 5);
      expect(ps.stdout.toString()).not.toContain('sleep 30');
      const big = await h.service.execSync(id, ['sh', '-c', 'head -c 17000000 /dev/zero; head -c 1000 /dev/zero >&2'], 20);
      expect(big.stdout.length).toBe(16 << 20);
      expect(big.stderr.length).toBe(1000);
      expect(big.exitCode).toBe(0);
    } finally {
      await h.service.remove(id);
    }
    await expect(h.service.execSync(id, ['true'], 1)).rejects.toThrow(/not found/);
  });
});

describe('stats, update and events', () => {
  it('reports cpu, memory working set and writable layer usage of a busy container', async () => {
    const id = await h.service.create(pod.id, req({ command: ['sh', '-c', 'head -c 100000 /dev/zero > /blob; while true; do :; done'] }));
    await h.service.start(id);
    try {
      const stats = await waitFor(async () => { const s = await h.service.stats(id); return s.cpuUsageNs > 50_000_000n && s.writableLayerBytes >= 100000 && s; });
      expect(stats.memoryWorkingSetBytes).toBeGreaterThan(0n);
      expect(stats.writableLayerInodes).toBeGreaterThan(0);
      expect((await h.service.listStats({ sandboxId: pod.id })).map((s) => s.id)).toContain(id);

      await h.service.updateResources(id, { memoryLimit: 64 << 20, cpuShares: 512 });
      const { cgroupsPath } = await h.service.status(id);
      const limit = await readFile(join('/sys/fs/cgroup/memory', cgroupsPath, 'memory.limit_in_bytes'), 'utf8').catch(async () =>
        readFile(join('/sys/fs/cgroup', cgroupsPath, 'memory.max'), 'utf8'));
      expect(Number(limit)).toBe(64 << 20);
    } finally {
      await h.service.remove(id);
    }
  });

  it('publishes created, started, stopped, deleted in order', async () => {
    const events: ContainerEvent[] = [];
    const off = h.service.events.subscribe((e) => events.push(e));
    const id = await h.service.create(pod.id, req({ command: ['sh', '-c', 'exit 0'] }));
    await h.service.start(id);
    await waitExited(h.service, id);
    await h.service.remove(id);
    off();
    expect(events.filter((e) => e.containerId === id).map((e) => e.type)).toEqual(['created', 'started', 'stopped', 'deleted']);
    expect(events.every((e) => e.sandboxId === pod.id)).toBe(true);
  });

  it('lists with filters: id prefix, state, sandbox, labels', async () => {
    const a = await h.service.create(pod.id, req({ command: ['sleep', '100'], labels: { app: 'a' } }));
    const b = await h.service.create(pod.id, req({ command: ['sleep', '100'], labels: { app: 'b' } }));
    await h.service.start(a);
    try {
      expect((await h.service.list({ id: a.slice(0, 8) })).map((c) => c.id)).toEqual([a]);
      expect((await h.service.list({ state: 'running' })).map((c) => c.id)).toEqual([a]);
      expect((await h.service.list({ state: 'created' })).map((c) => c.id)).toEqual([b]);
      expect((await h.service.list({ labelSelector: { app: 'b' } })).map((c) => c.id)).toEqual([b]);
      expect(await h.service.list({ sandboxId: 'nope' })).toEqual([]);
    } finally {
      await h.service.remove(a);
      await h.service.remove(b);
    }
  });
});

describe('daemon restart', () => {
  it('a new service on the same dirs finds a running container, and an exit that happened while down', async () => {
    const long = await h.service.create(pod.id, req({ command: ['sh', '-c', 'while [ ! -e /tmp/stop ]; do sleep 0.05; done; exit 7'] }));
    const short = await h.service.create(pod.id, req({ command: ['sh', '-c', 'sleep 0.3; exit 9'] }));
    await h.service.start(long);
    await h.service.start(short);
    h.service.close(); // the daemon is gone: no watcher, no state
    await new Promise((r) => setTimeout(r, 800));
    const service = await h.restart();
    expect((await service.status(long)).state).toBe('running');
    const shortStatus = await service.status(short);
    expect(shortStatus).toMatchObject({ state: 'exited', exitCode: 9, reason: 'Error' });
    await service.execSync(long, ['touch', '/tmp/stop'], 5);
    const done = await waitExited(service, long);
    expect(done.exitCode).toBe(7);
    await service.remove(long);
    await service.remove(short);
  });

  it('sweeps a container that no record names (a daemon killed mid-create)', async () => {
    const id = await h.service.create(pod.id, req({ command: ['sleep', '100'] }));
    await h.service.start(id);
    h.db.prepare('DELETE FROM containers WHERE id = ?').run(id); // the record never got written
    const service = await h.restart();
    expect(await service.list()).toEqual([]);
    expect(existsSync(join(h.base, 'root', 'containers', id))).toBe(false);
    expect(existsSync(join(h.base, 'state', 'runtimes', 'runc', id))).toBe(false);
    expect(h.images.mountedCount()).toBe(0);
  });
});

describe('concurrency', () => {
  it('concurrent stop and remove calls on one container run one at a time, in order', async () => {
    const id = await h.service.create(pod.id, req({ command: ['sleep', '100'] }));
    await h.service.start(id);
    const stopped = await Promise.allSettled([h.service.stop(id, 1), h.service.remove(id), h.service.stop(id, 0), h.service.remove(id)]);
    // In call order: the first stop runs to the end, remove then removes, the late stop finds nothing.
    expect(stopped.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'fulfilled']);
    expect(String((stopped[2] as PromiseRejectedResult).reason)).toMatch(/not found/);
    expect(await h.service.list()).toEqual([]);
  });
});
