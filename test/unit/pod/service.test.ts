// The pod orchestrator's own rules, with stand-ins for the sandbox and container services
// that record the calls: the order of a cascade, NotFound during a cascade, a failing
// beforeRemove, and CreateContainer waiting for a Stop of its pod. The real services are
// driven through the socket in test/integration/e2e/pod-races.test.ts and pod-lifecycle.
import { describe, expect, it } from 'vitest';
import type { ContainerService } from '../../../src/container/service.js';
import type { ContainerRequest } from '../../../src/container/types.js';
import { NotFoundError } from '../../../src/errors.js';
import { PodService } from '../../../src/pod/service.js';
import type { SandboxService } from '../../../src/sandbox/service.js';
import type { SandboxRecord } from '../../../src/sandbox/types.js';

const POD = 'p'.repeat(64);

class Recorder {
  readonly calls: string[] = [];
  readonly pods = new Map<string, SandboxRecord>([[POD, { id: POD } as SandboxRecord]]);
  readonly containers = new Map<string, string>([['c1', POD], ['c2', POD]]);
  /** Held calls: a promise the call waits for before it returns. */
  readonly holds = new Map<string, Promise<void>>();
  failWith = new Map<string, Error>();

  async step(name: string): Promise<void> {
    this.calls.push(`${name}:start`);
    await this.holds.get(name);
    const err = this.failWith.get(name);
    if (err) throw err;
    this.calls.push(name);
  }

  sandboxes(): SandboxService {
    return {
      get: (id: string) => this.pods.get(id) ?? null,
      resolve: (id: string) => {
        const p = this.pods.get(id);
        if (!p) throw new NotFoundError(`pod sandbox ${id} not found`);
        return p;
      },
      stop: (r: SandboxRecord) => this.step(`stop-pod ${r.id.slice(0, 1)}`),
      remove: async (r: SandboxRecord) => { await this.step(`remove-pod ${r.id.slice(0, 1)}`); this.pods.delete(r.id); },
    } as unknown as SandboxService;
  }

  containerService(): ContainerService {
    return {
      idsInSandbox: (id: string) => [...this.containers].filter(([, pod]) => pod === id).map(([c]) => c),
      stop: (id: string) => this.step(`stop ${id}`),
      remove: async (id: string) => { await this.step(`remove ${id}`); this.containers.delete(id); },
      create: async (pod: string, req: ContainerRequest) => { await this.step(`create ${req.name}`); this.containers.set(req.name, pod); return req.name; },
    } as unknown as ContainerService;
  }
}

function pods(r: Recorder, beforeRemove?: (rec: SandboxRecord) => Promise<void>): PodService {
  return new PodService({ sandboxes: r.sandboxes(), containers: r.containerService(), ...(beforeRemove ? { beforeRemove } : {}) });
}

const done = (r: Recorder): string[] => r.calls.filter((c) => !c.endsWith(':start'));

describe('the pod orchestrator', () => {
  it('stops every container, then the sandbox', async () => {
    const r = new Recorder();
    await pods(r).stopPod(POD);
    expect(done(r)).toEqual(['stop c1', 'stop c2', 'stop-pod p']);
  });

  it('removes: stops all, removes every container, then beforeRemove, then the sandbox', async () => {
    const r = new Recorder();
    await pods(r, async () => { r.calls.push('before-remove'); }).removePod(POD);
    expect(done(r)).toEqual(['stop c1', 'stop c2', 'stop-pod p', 'remove c1', 'remove c2', 'before-remove', 'remove-pod p']);
    expect(r.pods.size).toBe(0);
    // Removing again is fine (idempotent); stopping an unknown pod is NotFound, as containerd answers.
    await pods(r).removePod(POD);
    await expect(pods(r).stopPod(POD)).rejects.toBeInstanceOf(NotFoundError);
  });

  it('takes a container gone meanwhile (NotFound) as removed, and any other failure as a failure', async () => {
    const r = new Recorder();
    r.failWith.set('remove c1', new NotFoundError('container c1 not found'));
    await pods(r).removePod(POD);
    expect(done(r)).toContain('remove-pod p');
    const r2 = new Recorder();
    r2.failWith.set('stop c2', new Error('runc kill failed'));
    await expect(pods(r2).removePod(POD)).rejects.toThrow(/runc kill failed/);
    expect(done(r2)).not.toContain('remove-pod p');
    expect(r2.pods.has(POD)).toBe(true);
  });

  it('leaves the pod when beforeRemove fails, so a retry can finish it', async () => {
    const r = new Recorder();
    let fail = true;
    const svc = pods(r, async () => { if (fail) throw new Error('volume unpublish failed'); });
    await expect(svc.removePod(POD)).rejects.toThrow(/unpublish failed/);
    expect(r.pods.has(POD)).toBe(true);
    expect(done(r)).not.toContain('remove-pod p');
    fail = false;
    await svc.removePod(POD);
    expect(r.pods.has(POD)).toBe(false);
  });

  it('runs a CreateContainer that arrives during a StopPodSandbox after the stop, not beside it', async () => {
    const r = new Recorder();
    let release!: () => void;
    r.holds.set('stop-pod p', new Promise<void>((res) => { release = res; }));
    const svc = pods(r);
    const stopping = svc.stopPod(POD);
    await new Promise((res) => setImmediate(res));
    expect(r.calls).toContain('stop-pod p:start');
    const creating = svc.createContainer(POD, { name: 'c3' } as ContainerRequest);
    await new Promise((res) => setTimeout(res, 20));
    expect(r.calls).not.toContain('create c3:start'); // waiting for the pod's lock
    release();
    await Promise.all([stopping, creating]);
    expect(done(r).indexOf('create c3')).toBeGreaterThan(done(r).indexOf('stop-pod p'));
  });
});
