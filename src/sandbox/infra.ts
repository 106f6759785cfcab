// The infra process of a pod that shares one PID namespace among its containers: catatonit
// in pause mode, in a tiny bundle of its own (an empty read-only rootfs with the catatonit
// binary bound in), run by the pod's OCI runtime under conmon like any container. It holds
// the pod's PID namespace, which containers join as /proc/<pid>/ns/pid, and reaps zombies
// as the namespace's init. No image is needed, so starting a pod never pulls.
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { RuntimeRegistry } from '../runtime/registry.js';
import type { OciRuntime } from '../runtime/runtime.js';
import { cgroupsPathFor } from '../container/oci-spec/build.js';
import type { SandboxRecord } from './types.js';

export interface PodInfraOptions {
  runtimes: RuntimeRegistry;
  catatoninPath: string;
}

const STOP_WAIT_MS = 10_000;

export class PodInfra {
  constructor(private readonly opts: PodInfraOptions) {}

  /** The runtime id of a sandbox's infra process. */
  static idOf(sandboxId: string): string {
    return `infra-${sandboxId}`;
  }

  /** Starts the infra process in a new PID namespace joining the pod's others; returns its host pid. */
  async start(record: SandboxRecord, bundle: string): Promise<number> {
    const runtime = this.runtimeFor(record.runtimeHandler);
    const id = PodInfra.idOf(record.id);
    await mkdir(join(bundle, 'rootfs'), { recursive: true, mode: 0o755 });
    await mkdir(this.runtimeRoot(record.runtimeHandler), { recursive: true, mode: 0o700 });
    await mkdir(this.opts.runtimes.exitDir('infra'), { recursive: true, mode: 0o700 });
    await writeFile(join(bundle, 'config.json'), JSON.stringify(this.spec(record)), { mode: 0o600 });
    const created = await runtime.create({ id, bundle, stateDir: bundle, logPath: join(bundle, 'infra.log') });
    await runtime.start(id);
    return created.pid;
  }

  /** Kills the infra process and waits for it to go. Idempotent. */
  async stop(record: SandboxRecord): Promise<void> {
    const runtime = this.runtimeFor(record.runtimeHandler);
    const id = PodInfra.idOf(record.id);
    const state = await runtime.state(id);
    if (!state || state.status === 'stopped') return;
    await runtime.kill(id, 'SIGKILL').catch(() => undefined);
    const deadline = Date.now() + STOP_WAIT_MS;
    while (Date.now() < deadline) {
      const now = await runtime.state(id);
      if (!now || now.status === 'stopped') return;
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Removes the runtime's record and the exit file. Idempotent. */
  async remove(record: SandboxRecord, bundle: string): Promise<void> {
    if (!this.opts.runtimes.has(record.runtimeHandler)) return;
    const runtime = this.opts.runtimes.runtime(record.runtimeHandler, 'infra');
    const id = PodInfra.idOf(record.id);
    await runtime.delete(id);
    await runtime.clearExit(id);
    await rm(bundle, { recursive: true, force: true });
  }

  private runtimeFor(handler: string): OciRuntime {
    return this.opts.runtimes.runtime(handler, 'infra');
  }

  private runtimeRoot(handler: string): string {
    return this.opts.runtimes.runtimeRoot(handler);
  }

  private spec(record: SandboxRecord): object {
    const namespaces: { type: string; path?: string }[] = [{ type: 'pid' }, { type: 'mount' }];
    if (record.namespaces.net) namespaces.push({ type: 'network', path: record.namespaces.net });
    if (record.namespaces.ipc) namespaces.push({ type: 'ipc', path: record.namespaces.ipc });
    if (record.namespaces.uts) namespaces.push({ type: 'uts', path: record.namespaces.uts });
    const noCaps: string[] = [];
    return {
      ociVersion: '1.0.2',
      process: {
        terminal: false,
        user: { uid: 0, gid: 0 },
        args: ['/catatonit', '-P'],
        env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'],
        cwd: '/',
        capabilities: { bounding: noCaps, effective: noCaps, permitted: noCaps, inheritable: noCaps, ambient: noCaps },
        noNewPrivileges: true,
      },
      root: { path: 'rootfs', readonly: true },
      mounts: [
        { destination: '/proc', type: 'proc', source: 'proc', options: ['nosuid', 'noexec', 'nodev'] },
        { destination: '/catatonit', type: 'bind', source: this.opts.catatoninPath, options: ['bind', 'ro', 'nosuid', 'nodev'] },
      ],
      linux: {
        namespaces,
        cgroupsPath: cgroupsPathFor(record.cgroup.parent, 'infra'),
        resources: { devices: [{ allow: false, access: 'rwm' }] },
        maskedPaths: ['/proc/kcore', '/proc/keys', '/proc/timer_list', '/proc/sched_debug', '/sys/firmware'],
        readonlyPaths: ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'],
      },
    };
  }
}
