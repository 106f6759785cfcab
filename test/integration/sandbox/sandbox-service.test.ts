// The sandbox service as the container service uses it, in-process: the record it reads, and
// its stop/remove as the pod orchestrator calls them.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readCgroupMounts } from '../../../src/cgroup/hierarchy.js';
import { CniNetwork } from '../../../src/cni/network.js';
import { SandboxService } from '../../../src/sandbox/service.js';
import type { SandboxSpec } from '../../../src/sandbox/spec.js';
import { SandboxStore } from '../../../src/sandbox/store.js';
import { openDatabase, type Db } from '../../../src/store/database.js';
import { unmountAllUnder } from '../../fixtures/sandbox.js';

function spec(name: string): SandboxSpec {
  return {
    metadata: { name, namespace: 'ns', uid: `uid-${name}`, attempt: 0 }, hostname: name, logDirectory: '/var/log/pods/x',
    dns: null, portMappings: [], labels: { a: 'b' }, annotations: {}, cgroupParent: '',
    // Host network keeps CNI out of this test; the IPC namespace is still the pod's own.
    namespaces: { network: 'NODE', pid: 'CONTAINER', ipc: 'POD' }, sysctls: { 'kernel.shm_rmid_forced': '1' }, resources: {},
    securityContext: { runAsUser: '1000', runAsGroup: null, supplementalGroups: [], readonlyRootfs: false, privileged: false, seccomp: { profileType: 'RuntimeDefault', localhostRef: '' }, apparmor: null, selinux: null },
    runtimeHandler: '',
  };
}

describe('sandbox service API for containers', () => {
  let dir: string;
  let db: Db;
  let service: SandboxService;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'keelson-sbx-'));
    db = openDatabase(join(dir, 'keelson.db'));
    service = new SandboxService({
      root: join(dir, 'root'), state: join(dir, 'state'), store: new SandboxStore(db),
      cni: new CniNetwork({ confDir: join(dir, 'cni'), binDirs: ['/usr/lib/cni'], cacheDir: join(dir, 'cni-cache'), timeoutMs: 10_000 }),
      cgroupDriver: 'cgroupfs', cgroupMounts: readCgroupMounts(), defaultHandler: 'runc', handlers: () => ['runc', 'crun'],
      shmSizeBytes: 1 << 20, commandTimeoutMs: 10_000, log: pino({ level: 'silent' }),
    });
  });

  afterEach(async () => {
    for (const r of service.list()) {
      await service.stop(r).catch(() => undefined);
      await service.remove(r).catch(() => undefined);
    }
    db.close();
    unmountAllUnder(dir);
    await rm(dir, { recursive: true, force: true });
  });

  it('gives containers the record they need', async () => {
    const { id } = await service.run(spec('web'));
    const r = service.get(id);
    expect(r).not.toBeNull();
    expect(r).toMatchObject({
      id, state: 'SANDBOX_READY', runtimeHandler: 'runc', hostNetwork: true, hostIpc: false, hostPid: false, pidMode: 'CONTAINER',
      namespaces: { net: null, uts: null, ipc: join(dir, 'state', 'sandboxes', id, 'ns', 'ipc') },
      cgroup: { driver: 'cgroupfs', parent: `/keelson/${id}` },
      files: { shm: join(dir, 'state', 'sandboxes', id, 'shm'), hosts: join(dir, 'root', 'sandboxes', id, 'hosts') },
      metadata: { name: 'web', namespace: 'ns', uid: 'uid-web', attempt: 0 },
      logDirectory: '/var/log/pods/x', labels: { a: 'b' },
      securityContext: { runAsUser: '1000', seccomp: { profileType: 'RuntimeDefault' } },
    });
    expect(service.get('0'.repeat(64))).toBeNull();
  });

  it('stops and removes a sandbox it is handed, and a second stop is harmless', async () => {
    const record = await service.run(spec('db'));
    await service.stop(record);
    expect(service.get(record.id)?.state).toBe('SANDBOX_NOTREADY');
    await service.stop(record);
    await service.remove(record);
    expect(service.get(record.id)).toBeNull();
  });
});
