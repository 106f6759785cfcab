// The container service: create/start/stop/remove and the queries, over the store, the
// image and sandbox providers and one OCI runtime (conmon + runc/crun) per handler.

import { randomBytes } from 'node:crypto';
import { watch, type FSWatcher } from 'node:fs';
import { chmod, mkdir, readdir, realpath, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { KeyedLock } from '../keyed-lock.js';
import type { Logger } from '../logger.js';
import type { CgroupLayout } from '../cgroup/detect.js';
import { FailedPreconditionError, InvalidArgumentError, KeelsonError, NotFoundError, messageOf } from '../errors.js';
import type { Db } from '../store/database.js';
import type { ImageProvider, SandboxProvider } from './dependencies.js';
import { ContainerEvents, type ContainerEventType } from './events.js';
import { msToNs, nowNs } from '../time.js';
import { apparmorEnabled, daemonCapabilities, daemonOomScoreAdj, resolveDevices, resolveUserInRootfs } from './host-inputs.js';
import { resolveLogPath } from './logs.js';
import { DEFAULT_CDI_SPEC_DIRS, resolveCdiDevices } from './cdi.js';
import type { RuntimeRegistry } from '../runtime/registry.js';
import type { OciRuntime } from '../runtime/runtime.js';
import { buildSpec } from './oci-spec/build.js';
import { buildResources } from './oci-spec/resources.js';
import { seccompFor } from './oci-spec/seccomp.js';
import { readCgroupStats } from '../cgroup/stats.js';
import { hostCgroupMounts } from '../cgroup/hierarchy.js';
import { ContainerStore } from './store.js';
import type { ContainerRecord, ContainerRequest, ContainerState, ResourceRequest } from './types.js';
import { ContainerQueries } from './queries.js';

export interface ContainerServiceOptions {
  db: Db;
  root: string;
  state: string;
  runtimes: RuntimeRegistry;
  images: ImageProvider;
  sandboxes: SandboxProvider;
  log: Logger;
  cgroupLayout: CgroupLayout;
  /** 0: no pids limit. */
  pidsLimit?: number;
  logSizeMax?: number;
  /** Where CDI specs are read from (default /etc/cdi, /var/run/cdi). */
  cdiSpecDirs?: readonly string[];
}

const KILL_WAIT_MS = 10_000;

export class ContainerService extends ContainerQueries {
  readonly events = new ContainerEvents();
  private readonly reserved = new Set<string>();
  private readonly locks = new KeyedLock();
  private readonly exitsDuringOps = new Set<string>();
  /** Runtime records of exited containers being deleted (see releaseRuntime). */
  private readonly releasing = new Map<string, Promise<void>>();
  private watcher: FSWatcher | null = null;
  private readonly exitDir: string;

  constructor(private readonly opts: ContainerServiceOptions) {
    const store = new ContainerStore(opts.db);
    super(store, opts.images);
    this.exitDir = opts.runtimes.exitDir('containers');
  }

  /** Creates the dirs, watches exits and reconciles records with what happened while down. */
  async init(): Promise<void> {
    await mkdir(join(this.opts.root, 'containers'), { recursive: true, mode: 0o700 });
    await mkdir(this.exitDir, { recursive: true, mode: 0o700 });
    for (const name of this.opts.runtimes.names()) await mkdir(this.opts.runtimes.runtimeRoot(name), { recursive: true, mode: 0o700 });
    this.watcher = watch(this.exitDir, (_event, file) => {
      const id = file?.toString();
      if (!id) return;
      // An exit during start/stop/remove is left to that operation, which refreshes when it
      // ends: reading it here could publish 'stopped' before the start's 'started'.
      if (this.locks.held(id)) this.exitsDuringOps.add(id);
      else this.refreshFromWatcher(id);
    });
    await this.sweepOrphans();
    for (const record of this.store.list()) await this.reconcileWithRuntime(record);
  }

  /**
   * A record that is not terminal is checked against the OCI runtime's own state: a daemon
   * killed inside StartContainer after `runc start` took effect left CREATED on a running
   * container. Exits are read from the monitor's exit file as always.
   */
  private async reconcileWithRuntime(record: ContainerRecord): Promise<void> {
    const current = await this.refresh(record);
    if (current.state !== 'created' || !this.opts.runtimes.has(current.runtimeHandler)) return;
    const state = await this.runtimeFor(current.runtimeHandler).state(current.id).catch(() => null);
    if (state?.status === 'running') this.markStarted(current, 'found running at start-up');
  }

  private markStarted(record: ContainerRecord, why: string): void {
    this.opts.log.info({ id: record.id }, `container ${why}: recorded as running`);
    this.store.update({ ...record, state: 'running', startedAt: nowNs() });
    this.publish(record, 'started');
  }


  /**
   * Mounts each image volume (Mount.image) of the request and answers the mounts with their
   * host paths filled in. The image must be on the node (kubelet pulls it first, as containerd
   * expects); image_sub_path must name something inside the image, symlinks included.
   */
  private async imageVolumes(id: string, mounts: ContainerRequest['mounts']): Promise<ContainerRequest['mounts']> {
    const out: ContainerRequest['mounts'] = [];
    for (const [i, m] of mounts.entries()) {
      if (!m.image) { out.push(m); continue; }
      const sub = m.image.subPath;
      if (sub.startsWith('/') || sub.split('/').includes('..')) {
        throw new InvalidArgumentError(`mounts[${i}].image_sub_path ${JSON.stringify(sub)} must be a relative path without ".."`);
      }
      const image = this.opts.images.resolve(m.image.ref);
      if (!image) throw new NotFoundError(`mounts[${i}]: image ${m.image.ref} of an image volume is not on the node: pull it first`);
      const dir = await this.opts.images.mountImageVolume(id, i, image.id);
      let hostPath = dir;
      if (sub !== '') {
        const real = await realpath(join(dir, sub)).catch(() => null);
        if (real === null || (real !== dir && !real.startsWith(`${dir}/`))) {
          throw new InvalidArgumentError(`mounts[${i}].image_sub_path ${JSON.stringify(sub)} does not exist inside image ${m.image.ref}`);
        }
        hostPath = real;
      }
      out.push({ ...m, hostPath });
    }
    return out;
  }
  /**
   * A daemon killed in the middle of a create leaves a bundle (and maybe a runc container, a
   * monitor and a rootfs) that no record names: remove them, so every real object is listed.
   */
  private async sweepOrphans(): Promise<void> {
    const dirs = await readdir(join(this.opts.root, 'containers')).catch(() => [] as string[]);
    for (const id of dirs) {
      if (this.store.get(id) || !/^[0-9a-f]{64}$/.test(id)) continue;
      this.opts.log.warn({ id }, 'removing a container left half-created by an earlier daemon');
      for (const runtime of this.opts.runtimes.all()) {
        await runtime.delete(id).catch(() => undefined);
        await runtime.clearExit(id);
      }
      await this.opts.images.removeRootfs(id).catch((err: unknown) => this.opts.log.warn({ id, err: messageOf(err) }, 'orphan rootfs not removed'));
      await rm(join(this.opts.root, 'containers', id), { recursive: true, force: true });
      await rm(this.stateDir(id), { recursive: true, force: true });
    }
  }

  private refreshFromWatcher(id: string): void {
    const record = this.store.get(id);
    if (record) void this.refresh(record).catch((err: unknown) => this.opts.log.warn({ id, err: messageOf(err) }, 'exit refresh failed'));
  }

  close(): void {
    this.watcher?.close();
    this.watcher = null;
  }

  private bundleDir(id: string): string { return join(this.opts.root, 'containers', id, 'bundle'); }
  private stateDir(id: string): string { return join(this.opts.state, 'containers', id); }

  private runtimeFor(handler: string): OciRuntime {
    return this.opts.runtimes.runtime(handler);
  }

  private publish(record: ContainerRecord, type: ContainerEventType): void {
    this.events.publish({ containerId: record.id, sandboxId: record.sandboxId, type, createdAt: nowNs() });
  }

  async create(sandboxId: string, request: ContainerRequest): Promise<string> {
    const sandbox = this.opts.sandboxes.get(sandboxId);
    if (!sandbox) throw new NotFoundError(`sandbox ${sandboxId} not found`);
    if (sandbox.state !== 'SANDBOX_READY') throw new FailedPreconditionError(`sandbox ${sandboxId} is not ready`);
    if (!/^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,252}$/.test(request.name)) {
      throw new InvalidArgumentError(`container name "${request.name}" must be 1-253 characters of [a-zA-Z0-9_.-]`);
    }
    const key = `${sandboxId}/${request.name}/${request.attempt}`;
    const clash = this.store.list().find((c) => c.sandboxId === sandboxId && c.name === request.name && c.attempt === request.attempt);
    if (clash || this.reserved.has(key)) {
      throw new KeelsonError('AlreadyExists', `container "${request.name}" attempt ${request.attempt} already exists in sandbox ${sandboxId}${clash ? ` (id ${clash.id})` : ''}`);
    }
    const image = this.opts.images.resolve(request.image);
    if (!image) throw new NotFoundError(`image "${request.image}" is not on this node`);
    const runtime = this.runtimeFor(sandbox.runtimeHandler);
    const id = randomBytes(32).toString('hex');
    const stateDir = this.stateDir(id);
    const bundle = this.bundleDir(id);
    const logPath = resolveLogPath(sandbox.logDirectory, request.logPath, join(dirname(bundle), 'container.log'));

    this.reserved.add(key);
    const undo: Array<() => Promise<unknown>> = [];
    try {
      undo.push(() => rm(dirname(bundle), { recursive: true, force: true }), () => rm(stateDir, { recursive: true, force: true }));
      await mkdir(bundle, { recursive: true, mode: 0o700 });
      await chmod(dirname(bundle), 0o700);
      await mkdir(stateDir, { recursive: true, mode: 0o700 });
      undo.push(() => this.opts.images.removeRootfs(id));
      const { rootfs } = await this.opts.images.prepareRootfs(id, image.id);
      const cdi = await resolveCdiDevices(request.cdiDevices ?? [], this.opts.cdiSpecDirs ?? DEFAULT_CDI_SPEC_DIRS);
      const mounts = [...(await this.imageVolumes(id, request.mounts)), ...cdi.mounts];
      const user = await resolveUserInRootfs(rootfs, request, image.config.User);
      const sec = request.security;
      if (sec.apparmor.type === 'Localhost' && !apparmorEnabled()) {
        throw new InvalidArgumentError('an AppArmor profile was requested but this kernel has no AppArmor');
      }
      const apparmorProfile = apparmorEnabled() && !sec.privileged && sec.apparmor.type === 'Localhost'
        ? (sec.apparmor.localhostRef ?? '').replace(/^localhost\//, '') : null;
      const built = buildSpec({
        id, request: { ...request, mounts, envs: [...request.envs, ...cdi.env] }, image: image.config, sandbox, rootfs, user,
        devices: await resolveDevices([...request.devices, ...cdi.devices]),
        seccomp: await seccompFor(sec.seccomp, sec.privileged),
        apparmorProfile,
        oomScoreFloor: await daemonOomScoreAdj(),
        hostCapabilities: daemonCapabilities(),
        pidsLimit: this.opts.pidsLimit ?? 0,
      });
      for (const warning of built.warnings) this.opts.log.info({ id }, warning);
      await writeFile(join(bundle, 'config.json'), JSON.stringify(built.spec), { mode: 0o600 });
      await mkdir(dirname(logPath), { recursive: true });

      undo.push(() => runtime.delete(id), () => runtime.clearExit(id));
      const created = await runtime.create({
        id, bundle, stateDir, logPath, logSizeMax: this.opts.logSizeMax ?? -1,
        stdin: request.stdin, stdinOnce: request.stdinOnce, tty: request.tty,
      });
      const record: ContainerRecord = {
        id, sandboxId, name: request.name, attempt: request.attempt,
        imageRef: image.ref ?? request.image, imageId: image.id,
        state: 'created', createdAt: nowNs(), startedAt: '0', finishedAt: '0', exitCode: 0, reason: '', message: '',
        pid: created.pid, labels: request.labels, annotations: request.annotations, logPath,
        runtimeHandler: sandbox.runtimeHandler,
        stopSignal: request.stopSignal ?? image.config.StopSignal ?? 'SIGTERM',
        request, uid: user.uid, gid: user.gid, additionalGids: user.additionalGids,
        cgroupsPath: built.spec.linux.cgroupsPath,
      };
      // The record, naming its pod, is the last step: nothing after it can fail and leave half a container.
      this.store.insert(record);
      this.publish(record, 'created');
      return id;
    } catch (err) {
      for (const step of undo.reverse()) {
        await step().catch((e: unknown) => this.opts.log.warn({ id, err: messageOf(e) }, 'create rollback step failed'));
      }
      throw err;
    } finally {
      this.reserved.delete(key);
    }
  }

  /** The ids of a pod's containers, oldest first. */
  idsInSandbox(sandboxId: string): string[] {
    return this.store.idsInSandbox(sandboxId);
  }

  /** One lifecycle change at a time per container (kubelet retries, concurrent stop and remove). */
  private async exclusive<T>(id: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await this.locks.run(id, fn);
    } finally {
      if (!this.locks.held(id) && this.exitsDuringOps.delete(id)) this.refreshFromWatcher(id);
    }
  }

  start(id: string): Promise<void> {
    return this.exclusive(id, () => this.startNow(id));
  }

  /**
   * Stop signal, then SIGKILL after `timeoutSec`. Stopping a stopped container is fine. Answers
   * once the runtime's record of the exited container is gone too, as containerd's Stop waits
   * for the task's deletion.
   */
  stop(id: string, timeoutSec: number): Promise<void> {
    return this.exclusive(id, async () => {
      await this.stopNow(id, timeoutSec);
      await this.releasing.get(id);
    });
  }

  /** Removes a container, stopping it first. Removing an unknown id is fine. */
  remove(id: string): Promise<void> {
    return this.exclusive(id, () => this.removeNow(id));
  }

  updateResources(id: string, resources: ResourceRequest): Promise<void> {
    return this.exclusive(id, () => this.updateNow(id, resources));
  }

  private async startNow(id: string): Promise<void> {
    const record = await this.refreshed(id);
    if (record.state !== 'created') throw new FailedPreconditionError(`container ${id} is ${record.state}, not created`);
    const runtime = this.runtimeFor(record.runtimeHandler);
    try {
      await runtime.start(id);
    } catch (err) {
      // Started already (a retry after a daemon died inside an earlier start): that is success.
      const state = await runtime.state(id).catch(() => null);
      if (state?.status === 'running') {
        this.markStarted(record, 'already started by the runtime');
        return;
      }
      this.store.update({ ...record, state: 'exited', exitCode: 128, finishedAt: nowNs(), reason: 'StartError', message: messageOf(err) });
      throw err;
    }
    this.store.update({ ...record, state: 'running', startedAt: nowNs() });
    this.publish(record, 'started');
    await this.refresh(this.store.get(id) as ContainerRecord); // exits that beat us
  }

  private async stopNow(id: string, timeoutSec: number): Promise<void> {
    const record = await this.refreshed(id);
    if (record.state === 'exited') return;
    const runtime = this.runtimeFor(record.runtimeHandler);
    if (record.state === 'created') {
      // Never started: nothing ran, kill the init that waits in runc create.
      await runtime.kill(id, 'SIGKILL').catch(() => undefined);
      await this.waitExit(record, KILL_WAIT_MS);
      return;
    }
    if (timeoutSec > 0) {
      await runtime.kill(id, record.stopSignal).catch((err: unknown) => this.opts.log.debug({ id, err: messageOf(err) }, 'stop signal not delivered'));
      if (await this.waitExit(record, timeoutSec * 1000)) return;
    }
    await runtime.kill(id, 'SIGKILL').catch((err: unknown) => this.opts.log.debug({ id, err: messageOf(err) }, 'SIGKILL not delivered'));
    if (!(await this.waitExit(record, KILL_WAIT_MS))) {
      throw new KeelsonError('DeadlineExceeded', `container ${id} did not exit after SIGKILL`);
    }
  }

  private async waitExit(record: ContainerRecord, ms: number): Promise<boolean> {
    const deadline = Date.now() + ms;
    for (;;) {
      const now = await this.refresh(this.store.get(record.id) ?? record);
      if (now.state === 'exited') return true;
      if (Date.now() >= deadline) return false;
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  private async removeNow(id: string): Promise<void> {
    const record = this.store.get(id);
    if (!record) return;
    const runtime = this.runtimeFor(record.runtimeHandler);
    const current = await this.refresh(record);
    if (current.state !== 'exited') await this.stopNow(id, 0);
    await this.releasing.get(id);
    // Released at the exit already, unless that exit was recorded by an earlier daemon or the
    // release failed: then delete here (no runc run when there is nothing to delete).
    if (runtime.hasRecord(id)) await runtime.delete(id);
    // conmon exits right after the container; wait so no file of it is still open.
    for (let i = 0; i < 500 && await runtime.monitorAlive(this.stateDir(id)); i++) await new Promise((r) => setTimeout(r, 10));
    await this.opts.images.removeRootfs(id);
    await rm(join(this.opts.root, 'containers', id), { recursive: true, force: true });
    await rm(this.stateDir(id), { recursive: true, force: true });
    await runtime.clearExit(id);
    this.store.delete(id);
    this.publish(record, 'deleted');
  }

  /** Reads the monitor's exit record and moves the container to exited when there is one. */
  protected override async refresh(record: ContainerRecord): Promise<ContainerRecord> {
    if (record.state === 'exited') return record;
    if (!this.opts.runtimes.has(record.runtimeHandler)) return record; // its handler left the config: report what is known
    const runtime = this.opts.runtimes.runtime(record.runtimeHandler);
    let exit = await runtime.readExit(record.id, this.stateDir(record.id));
    let monitorGone = false;
    if (!exit && !(await runtime.monitorAlive(this.stateDir(record.id)))) {
      // conmon writes the exit file just before it exits: read again now that it is gone.
      exit = await runtime.readExit(record.id, this.stateDir(record.id));
      monitorGone = exit === null;
    }
    let next: ContainerRecord | null = null;
    if (exit) {
      const cg = await readCgroupStats(hostCgroupMounts(), record.cgroupsPath);
      const oom = exit.oomKilled || (cg.exists && cg.oomKills > 0n && exit.exitCode === 137);
      next = {
        ...record, state: 'exited', exitCode: exit.exitCode, finishedAt: msToNs(exit.exitedAt.getTime()),
        reason: oom ? 'OOMKilled' : exit.exitCode === 0 ? 'Completed' : 'Error',
        message: oom ? 'the container was killed for exceeding its memory limit' : '',
      };
    } else if (monitorGone) {
      // The monitor died without an exit record (killed): the exit code is lost.
      const state = await runtime.state(record.id).catch(() => null);
      if (!state || state.status === 'stopped') {
        next = { ...record, state: 'exited', exitCode: 255, finishedAt: nowNs(), reason: 'Unknown', message: 'the container monitor died without recording an exit code' };
      }
    }
    const latest = this.store.get(record.id);
    if (!next || !latest || latest.state === 'exited') return latest ?? record;
    next = { ...next, startedAt: latest.startedAt, state: 'exited' };
    this.store.update(next);
    this.publish(next, 'stopped');
    this.releaseRuntime(next);
    return next;
  }

  /**
   * Deletes the OCI runtime's record of a container whose exit is recorded (runc delete: its
   * state dir and cgroup), in the background, as containerd deletes a task when it exits. The
   * exit code, log and rootfs stay until RemoveContainer; what happened (OOM) was read from the
   * cgroup before the exit was recorded. Stop and Remove wait for it; a failure is logged and
   * Remove deletes again.
   */
  private releaseRuntime(record: ContainerRecord): void {
    if (this.releasing.has(record.id) || !this.opts.runtimes.has(record.runtimeHandler)) return;
    const runtime = this.runtimeFor(record.runtimeHandler);
    const release = runtime.delete(record.id)
      .catch((err: unknown) => this.opts.log.warn({ id: record.id, err: messageOf(err) }, 'runtime record of an exited container not deleted; RemoveContainer will retry'))
      .finally(() => this.releasing.delete(record.id));
    this.releasing.set(record.id, release);
  }

  private async updateNow(id: string, resources: ResourceRequest): Promise<void> {
    const record = await this.refreshed(id);
    if (record.state === 'exited') throw new FailedPreconditionError(`container ${id} has exited`);
    const oci = buildResources(resources);
    await this.runtimeFor(record.runtimeHandler).update(id, oci);
    this.store.update({ ...record, request: { ...record.request, resources: { ...record.request.resources, ...resources } } });
  }

  async reopenLog(id: string): Promise<void> {
    const record = await this.refreshed(id);
    if (record.state !== 'running') throw new FailedPreconditionError(`container ${id} is not running`);
    await mkdir(dirname(record.logPath), { recursive: true });
    await this.runtimeFor(record.runtimeHandler).reopenLog(this.bundleDir(id));
  }

  /**
   * The command line of an interactive exec in a running container (the streaming server
   * spawns it, under a pty when tty); the exec'd process's host pid is written to pidFile.
   */
  async execCommandLine(id: string, cmd: string[], tty: boolean, pidFile: string): Promise<{ file: string; args: string[] }> {
    if (cmd.length === 0) throw new InvalidArgumentError('exec: cmd is empty');
    const record = await this.refreshed(id);
    if (record.state !== 'running') throw new FailedPreconditionError(`container ${id} is not running`);
    return this.runtimeFor(record.runtimeHandler).execCommandLine(record.id, cmd, tty, pidFile);
  }

  /** Throws unless the container exists and runs; returns its full id and stdin/tty settings. */
  async runningContainer(idOrPrefix: string): Promise<{ id: string; stdin: boolean; tty: boolean }> {
    const record = await this.refreshed(this.resolveId(idOrPrefix));
    if (record.state !== 'running') throw new FailedPreconditionError(`container ${record.id} is not running`);
    return { id: record.id, stdin: record.request.stdin, tty: record.request.tty };
  }

  /** Where attach reaches a running container: conmon's attach socket and ctl fifo in the bundle. */
  async attachTarget(id: string): Promise<{ bundle: string; stdin: boolean; stdinOnce: boolean; tty: boolean }> {
    const record = await this.refreshed(id);
    if (record.state !== 'running') throw new FailedPreconditionError(`container ${id} is not running`);
    return { bundle: this.bundleDir(record.id), stdin: record.request.stdin, stdinOnce: record.request.stdinOnce, tty: record.request.tty };
  }

  async execSync(id: string, cmd: string[], timeoutSec: number): Promise<{ exitCode: number; stdout: Buffer; stderr: Buffer }> {
    if (cmd.length === 0) throw new InvalidArgumentError('exec: cmd is empty');
    const record = await this.refreshed(id);
    if (record.state !== 'running') throw new FailedPreconditionError(`container ${id} is not running`);
    const result = await this.runtimeFor(record.runtimeHandler).exec(id, {
      cmd, timeoutMs: Math.max(0, timeoutSec) * 1000, maxOutputBytes: 16 << 20,
    });
    if (result.timedOut) throw new KeelsonError('DeadlineExceeded', `exec in ${id} did not finish within ${timeoutSec} s and was killed`);
    return { exitCode: result.exitCode, stdout: result.stdout, stderr: result.stderr };
  }
}

export type { ContainerState };
