// Pod sandboxes: the pod's namespaces, files, cgroup, infra process and network, and the
// record other services read. The pod orchestrator (src/pod/) calls run/stop/remove under the
// pod's lock, after it dealt with the pod's containers; nothing global is held across CNI or
// other external calls.
import { randomBytes } from 'node:crypto';
import { copyFile, mkdir } from 'node:fs/promises';
import { hostname as osHostname } from 'node:os';
import { join } from 'node:path';
import type { CgroupDriver } from '../cgroup/detect.js';
import type { CgroupMount } from '../cgroup/hierarchy.js';
import { podCgroupPath } from '../cgroup/cgroup-path.js';
import { applyPodResources, checkPodResources, createPodCgroup, type PodResources } from '../cgroup/pod-cgroup.js';
import type { CniCapabilities, CniNetwork } from '../cni/network.js';
import { podIpsOf } from '../cni/result.js';
import { nowNs } from '../time.js';
import { FailedPreconditionError, KeelsonError, messageOf } from '../errors.js';
import { findById } from '../id-index.js';
import type { Logger } from '../logger.js';
import { pinNamespaces, type NamespaceTargets } from '../native.js';
import { hostsText, mountShm, resolvConfText, writePodFile } from './pod-files.js';
import { SandboxLayout } from './layout.js';
import { bandwidthOf, checkSandboxSpec, cniArgs, type SandboxSpec } from './spec.js';
import type { PodInfra } from './infra.js';
import type { SandboxStore } from './store.js';
import { sandboxStats, type CpuSample, type SandboxStats } from './sandbox-stats.js';
import { applySysctls } from './sysctls.js';
import { bringUpLoopback } from './loopback.js';
import { releaseLocalResources, tearDownNetwork } from './teardown.js';
import type { SandboxRecord } from './types.js';

export interface SandboxServiceOptions {
  root: string;
  state: string;
  store: SandboxStore;
  cni: CniNetwork;
  cgroupDriver: CgroupDriver;
  cgroupMounts: readonly CgroupMount[];
  defaultHandler: string;
  handlers: () => string[];
  shmSizeBytes: number;
  /** Bound on helper programs (nsenter sysctl/cat). */
  commandTimeoutMs: number;
  log: Logger;
  /** Runs infra processes for pod-shared PID namespaces; without it pid mode POD is UNIMPLEMENTED. */
  infra?: PodInfra;
}

export class SandboxService {
  readonly layout: SandboxLayout;
  readonly #cpuSamples = new Map<string, CpuSample>();

  constructor(readonly opts: SandboxServiceOptions) {
    this.layout = new SandboxLayout(opts.root, opts.state);
  }

  /** The record of a sandbox by its full id, or null. */
  get(id: string): SandboxRecord | null {
    return this.opts.store.get(id);
  }

  /** A sandbox by full id or unique prefix; NotFound otherwise. */
  resolve(idOrPrefix: string): SandboxRecord {
    return this.opts.store.get(idOrPrefix) ?? findById(this.opts.store.list(), idOrPrefix, 'pod sandbox');
  }

  list(): SandboxRecord[] {
    return this.opts.store.list();
  }

  /** cgroup and network counters of one sandbox. */
  async stats(idOrPrefix: string): Promise<SandboxStats> {
    const record = this.resolve(idOrPrefix);
    const stats = await sandboxStats(record, this.opts.cgroupMounts, this.opts.commandTimeoutMs, this.#cpuSamples.get(record.id));
    this.#cpuSamples.set(record.id, { cpuUsageNs: stats.cgroup.cpuUsageNs, timestampNs: BigInt(stats.timestampNs) });
    return stats;
  }

  /** A fresh sandbox id. */
  static newId(): string {
    return randomBytes(32).toString('hex');
  }

  /** RunPodSandbox under id (call with the pod's lock held); a failure undoes what was done. */
  async run(spec: SandboxSpec, id: string = SandboxService.newId()): Promise<SandboxRecord> {
    checkSandboxSpec(spec, this.opts.handlers(), this.opts.infra !== undefined);
    const record = this.#newRecord(id, spec);
    this.opts.store.insert(record); // reserves the name; AlreadyExists when taken
    let step = 'prepare dirs';
    try {
      await mkdir(this.layout.filesDir(id), { recursive: true, mode: 0o711 });
      await mkdir(join(this.layout.stateDir(id), 'ns'), { recursive: true, mode: 0o711 });

      step = 'pin namespaces';
      const targets: NamespaceTargets = {};
      if (!record.hostNetwork) {
        targets.net = this.layout.namespace(id, 'net');
        targets.uts = this.layout.namespace(id, 'uts');
      }
      if (!record.hostIpc) targets.ipc = this.layout.namespace(id, 'ipc');
      if (targets.net || targets.ipc || targets.uts) {
        await pinNamespaces(targets, targets.uts ? { hostname: record.hostname } : {});
      }
      record.namespaces = { net: targets.net ?? null, ipc: targets.ipc ?? null, uts: targets.uts ?? null };
      this.opts.store.update(record);

      if (record.namespaces.net) {
        step = 'bring up loopback';
        await bringUpLoopback(record.namespaces.net, this.opts.commandTimeoutMs);
      }

      step = 'apply sysctls';
      await applySysctls(spec.sysctls, { net: record.namespaces.net, ipc: record.namespaces.ipc }, this.opts.commandTimeoutMs);

      if (!record.hostIpc) {
        step = 'mount shm';
        await mkdir(this.layout.shm(id), { recursive: true, mode: 0o755 });
        await mountShm(this.layout.shm(id), this.opts.shmSizeBytes);
      }

      step = 'create pod cgroup';
      const cg = await createPodCgroup(this.opts.cgroupMounts, record.cgroup.path);
      record.cgroup.createdDirs = cg.createdDirs;
      this.opts.store.update(record);
      await applyPodResources(this.opts.cgroupMounts, record.cgroup.path, spec.resources);

      if (record.pidMode === 'POD' && this.opts.infra) {
        step = 'start the infra process';
        record.infra = { pid: await this.opts.infra.start(record, this.layout.infraBundle(id)) };
        this.opts.store.update(record);
      }

      if (!record.hostNetwork) {
        step = 'set up the pod network (CNI ADD)';
        record.network = 'setup-started';
        this.opts.store.update(record); // before ADD: a crash from here on still leads to a DEL
        const attachment = await this.opts.cni.add({
          containerId: id, netns: record.namespaces.net as string, args: cniArgs(id, record.metadata),
          capabilities: capabilitiesOf(spec),
        });
        record.network = 'up';
        record.cni = { network: attachment.network, ifName: attachment.ifName, result: attachment.result };
        record.ips = podIpsOf(attachment.result);
        this.opts.store.update(record);
      }

      step = 'write pod files';
      await writePodFile(record.files.hostname, `${record.hostname}\n`);
      if (record.hostNetwork) await copyFile('/etc/hosts', record.files.hosts);
      else await writePodFile(record.files.hosts, hostsText(record.hostname, record.ips));
      await writePodFile(record.files.resolvConf, await resolvConfText(spec.dns));

      record.phase = 'ready';
      record.state = 'SANDBOX_READY';
      this.opts.store.update(record);
      return record;
    } catch (err) {
      const problems = await this.#rollback(record);
      const kind = err instanceof KeelsonError ? err.kind : 'Internal';
      const left = problems.length > 0 ? `; cleanup left problems: ${problems.join('; ')}` : '';
      this.opts.log.warn({ sandbox: id, step, err: messageOf(err), problems }, 'RunPodSandbox failed and was rolled back');
      throw new KeelsonError(kind, `RunPodSandbox failed to ${step}: ${messageOf(err)}${left}`, { cause: err });
    }
  }

  /** Undoes a failed run. The row stays (not ready) only if the network could not be released. */
  async #rollback(record: SandboxRecord): Promise<string[]> {
    const problems: string[] = [];
    problems.push(...(await this.#removeInfra(record)));
    try {
      await tearDownNetwork(this.opts.cni, record);
    } catch (err) {
      problems.push(`CNI DEL: ${messageOf(err)}`);
    }
    problems.push(...(await releaseLocalResources(this.layout, record)));
    if (record.network === 'setup-started' || record.network === 'up') {
      // Keep the record so a later RemovePodSandbox (or the next start) retries the DEL.
      record.phase = 'stopped';
      record.state = 'SANDBOX_NOTREADY';
      this.opts.store.update(record);
    } else {
      this.opts.store.delete(record.id);
    }
    return problems;
  }

  /**
   * New limits for a ready pod's cgroup (UpdatePodSandboxResources, pod-level resize): each
   * field given is written, the others are left as they are. Call under the pod's lock.
   */
  async updateResources(record: SandboxRecord, resources: PodResources): Promise<void> {
    checkPodResources(resources);
    if (record.state !== 'SANDBOX_READY') {
      throw new FailedPreconditionError(`pod sandbox ${record.id} is not ready: its cgroup cannot be resized`);
    }
    await applyPodResources(this.opts.cgroupMounts, record.cgroup.path, resources);
  }

  /**
   * Stops the infra process and tears the network down (once); call under the pod's lock,
   * after the pod's containers were stopped. Idempotent.
   */
  async stop(record: SandboxRecord): Promise<void> {
    if (record.infra) await this.opts.infra?.stop(record);
    await tearDownNetwork(this.opts.cni, record); // throws: kubelet retries Stop
    record.phase = 'stopped';
    record.state = 'SANDBOX_NOTREADY';
    this.opts.store.update(record);
  }

  /**
   * Releases everything the sandbox holds and deletes its record; call under the pod's lock
   * once it is stopped and its containers are removed.
   */
  async remove(record: SandboxRecord): Promise<void> {
    const problems = [...(await this.#removeInfra(record)), ...(await releaseLocalResources(this.layout, record))];
    if (problems.length > 0) throw new KeelsonError('Internal', `RemovePodSandbox ${record.id} could not release: ${problems.join('; ')}`);
    this.opts.store.delete(record.id);
    this.#cpuSamples.delete(record.id);
  }

  /** Stops and deletes the infra process, if the pod has one; returns what could not be done. */
  async #removeInfra(record: SandboxRecord): Promise<string[]> {
    if (record.pidMode !== 'POD' || !this.opts.infra) return [];
    try {
      await this.opts.infra.stop(record);
      await this.opts.infra.remove(record, this.layout.infraBundle(record.id));
      return [];
    } catch (err) {
      return [`remove infra process: ${messageOf(err)}`];
    }
  }

  #newRecord(id: string, spec: SandboxSpec): SandboxRecord {
    const hostNetwork = spec.namespaces.network === 'NODE';
    const hostIpc = spec.namespaces.ipc === 'NODE';
    const cg = podCgroupPath(this.opts.cgroupDriver, spec.cgroupParent, id);
    const dir = this.layout.filesDir(id);
    const hostname = spec.hostname !== '' ? spec.hostname : (hostNetwork ? osHostname() : spec.metadata.name.toLowerCase().slice(0, 63));
    return {
      id,
      metadata: spec.metadata,
      state: 'SANDBOX_NOTREADY',
      phase: 'creating',
      network: 'none',
      createdAt: nowNs(),
      runtimeHandler: spec.runtimeHandler !== '' ? spec.runtimeHandler : this.opts.defaultHandler,
      hostname,
      hostNetwork,
      hostIpc,
      hostPid: spec.namespaces.pid === 'NODE',
      pidMode: spec.namespaces.pid,
      namespaces: { net: null, ipc: null, uts: null },
      cgroup: {
        driver: this.opts.cgroupDriver, path: cg.path, parent: cg.parentForContainers, createdDirs: [],
        keelsonParent: spec.cgroupParent === '',
      },
      files: {
        dir,
        hostname: join(dir, 'hostname'),
        hosts: join(dir, 'hosts'),
        resolvConf: join(dir, 'resolv.conf'),
        shm: hostIpc ? null : this.layout.shm(id),
      },
      ips: [],
      infra: null,
      cni: null,
      labels: spec.labels,
      annotations: spec.annotations,
      logDirectory: spec.logDirectory,
      portMappings: spec.portMappings,
      sysctls: spec.sysctls,
      securityContext: spec.securityContext,
    };
  }
}

function capabilitiesOf(spec: SandboxSpec): CniCapabilities {
  const caps: CniCapabilities = {};
  const ports = spec.portMappings.filter((p) => p.hostPort > 0);
  if (ports.length > 0) {
    caps.portMappings = ports.map((p) => ({
      hostPort: p.hostPort, containerPort: p.containerPort, protocol: p.protocol.toLowerCase(),
      ...(p.hostIp !== '' ? { hostIP: p.hostIp } : {}),
    }));
  }
  if (spec.dns) caps.dns = { servers: spec.dns.servers, searches: spec.dns.searches, options: spec.dns.options };
  const bw = bandwidthOf(spec.annotations);
  if (bw) caps.bandwidth = bw;
  return caps;
}
