// Translation between CRI container messages and the container service's own types.

import { InvalidArgumentError } from '../errors.js';
import type { PidMode } from '../container/dependencies.js';
import type { Propagation } from '../container/oci-spec/mounts.js';
import type { ContainerRecord, ContainerRequest, ContainerState, ProfileType, ResourceRequest, SecurityProfileRequest } from '../container/types.js';
import type {
  Container, ContainerConfig, ContainerState as CriContainerState, ContainerStatus, LinuxContainerResources,
  NamespaceMode, SecurityProfile, Signal,
} from './generated/cri-types.js';
import { SignalValues } from './generated/cri-types.js';

function int(value: string | null | undefined, field: string): number | undefined {
  if (value === null || value === undefined || value === '') return undefined;
  const n = Number(value);
  if (!Number.isSafeInteger(n)) throw new InvalidArgumentError(`${field} "${value}" is not an integer`);
  return n;
}

export function toResourceRequest(r: LinuxContainerResources | null | undefined): ResourceRequest {
  if (!r) return {};
  return {
    cpuPeriod: int(r.cpu_period, 'cpu_period'),
    cpuQuota: int(r.cpu_quota, 'cpu_quota'),
    cpuShares: int(r.cpu_shares, 'cpu_shares'),
    memoryLimit: int(r.memory_limit_in_bytes, 'memory_limit_in_bytes'),
    memorySwapLimit: int(r.memory_swap_limit_in_bytes, 'memory_swap_limit_in_bytes'),
    oomScoreAdj: int(r.oom_score_adj, 'oom_score_adj'),
    cpusetCpus: r.cpuset_cpus || undefined,
    cpusetMems: r.cpuset_mems || undefined,
    hugepageLimits: (r.hugepage_limits ?? []).map((h) => ({ pageSize: h.page_size ?? '', limit: int(h.limit, 'hugepage limit') ?? 0 })),
    unified: r.unified ?? undefined,
  };
}

/**
 * A security profile from its message or the deprecated string. `unset` is what neither
 * means: the CRI says a container without a seccomp profile runs unconfined (kubelet sends
 * RuntimeDefault when the pod asks for it), as containerd and CRI-O do.
 */
export function profile(p: SecurityProfile | null | undefined, legacy: string | null | undefined, field: string,
  unset: ProfileType): SecurityProfileRequest {
  if (p?.profile_type) {
    const type: ProfileType = p.profile_type;
    if (type === 'Localhost' && !p.localhost_ref) throw new InvalidArgumentError(`${field}: Localhost needs localhost_ref`);
    return { type, localhostRef: p.localhost_ref ?? undefined };
  }
  // The deprecated string form: "runtime/default", "unconfined", "localhost/<path>".
  if (!legacy) return { type: unset };
  if (legacy === 'runtime/default' || legacy === 'docker/default') return { type: 'RuntimeDefault' };
  if (legacy === 'unconfined') return { type: 'Unconfined' };
  if (legacy.startsWith('localhost/')) return { type: 'Localhost', localhostRef: legacy.slice('localhost/'.length) };
  throw new InvalidArgumentError(`${field}: unknown profile "${legacy}"`);
}

const PID_MODES: Record<NamespaceMode, PidMode | undefined> = { CONTAINER: 'container', POD: 'pod', NODE: 'node', TARGET: undefined };

export function toContainerRequest(config: ContainerConfig | null | undefined): ContainerRequest {
  if (!config) throw new InvalidArgumentError('config is required');
  const name = config.metadata?.name ?? '';
  if (!name) throw new InvalidArgumentError('config.metadata.name is required');
  const image = config.image?.image ?? '';
  if (!image) throw new InvalidArgumentError('config.image.image is required');
  const sc = config.linux?.security_context;
  const pidNs = sc?.namespace_options?.pid;
  // A group alone says nothing about whose process it is; containerd refuses it too.
  if (sc?.run_as_group && !sc.run_as_user && !sc.run_as_username) {
    throw new InvalidArgumentError('linux.security_context.run_as_group is set without run_as_user or run_as_username');
  }
  if (pidNs === 'TARGET') throw new InvalidArgumentError('namespace_options.pid TARGET is not supported');
  return {
    name, attempt: config.metadata?.attempt ?? 0, image,
    command: config.command ?? [], args: config.args ?? [], workingDir: config.working_dir ?? '',
    envs: (config.envs ?? []).map((kv) => ({ key: kv.key ?? '', value: kv.value?.toString('utf8') ?? '' })),
    mounts: (config.mounts ?? []).map((m) => {
      if (m.image?.image) {
        // An image volume is always read-only; kubelet pulled the image before CreateContainer.
        return {
          containerPath: m.container_path ?? '', hostPath: '', readonly: true, propagation: 'PROPAGATION_PRIVATE' as Propagation,
          recursiveReadOnly: false, image: { ref: m.image.image, subPath: m.image_sub_path ?? '' },
        };
      }
      return {
        containerPath: m.container_path ?? '', hostPath: m.host_path ?? '', readonly: m.readonly ?? false,
        propagation: (m.propagation ?? 'PROPAGATION_PRIVATE') as Propagation, recursiveReadOnly: m.recursive_read_only ?? false,
      };
    }),
    devices: (config.devices ?? []).map((d) => ({ containerPath: d.container_path ?? '', hostPath: d.host_path ?? '', permissions: d.permissions ?? '' })),
    cdiDevices: (config.CDI_devices ?? []).map((d) => d.name ?? ''),
    labels: config.labels ?? {}, annotations: config.annotations ?? {},
    logPath: config.log_path ?? '', stdin: config.stdin ?? false, stdinOnce: config.stdin_once ?? false, tty: config.tty ?? false,
    resources: toResourceRequest(config.linux?.resources),
    security: {
      privileged: sc?.privileged ?? false,
      capabilities: { add: sc?.capabilities?.add_capabilities ?? [], drop: sc?.capabilities?.drop_capabilities ?? [],
        ambient: sc?.capabilities?.add_ambient_capabilities ?? [] },
      pidMode: pidNs ? PID_MODES[pidNs] : undefined,
      runAsUser: int(sc?.run_as_user?.value, 'run_as_user'),
      runAsGroup: int(sc?.run_as_group?.value, 'run_as_group'),
      runAsUsername: sc?.run_as_username || undefined,
      supplementalGroups: (sc?.supplemental_groups ?? []).map((g) => int(g, 'supplemental_groups') ?? 0),
      supplementalGroupsPolicy: sc?.supplemental_groups_policy ?? undefined,
      readonlyRootfs: sc?.readonly_rootfs ?? false,
      noNewPrivs: sc?.no_new_privs ?? false,
      // kubelet always sends both lists (empty for an Unmasked procMount).
      maskedPaths: sc?.masked_paths ?? undefined,
      readonlyPaths: sc?.readonly_paths ?? undefined,
      seccomp: profile(sc?.seccomp, sc?.seccomp_profile_path, 'seccomp', 'Unconfined'),
      apparmor: profile(sc?.apparmor, sc?.apparmor_profile, 'apparmor', 'RuntimeDefault'),
    },
    stopSignal: config.stop_signal && config.stop_signal !== 'SIGNAL_RUNTIME_DEFAULT' ? config.stop_signal.replace(/^SIGNAL_/, '') : undefined,
  };
}

const STATES: Record<ContainerState, CriContainerState> = {
  created: 'CONTAINER_CREATED', running: 'CONTAINER_RUNNING', exited: 'CONTAINER_EXITED', unknown: 'CONTAINER_UNKNOWN',
};

export function toCriState(state: ContainerState): CriContainerState {
  return STATES[state];
}

export function fromCriState(state: CriContainerState): ContainerState {
  return (Object.entries(STATES).find(([, v]) => v === state)?.[0] ?? 'unknown') as ContainerState;
}

export function toCriContainer(r: ContainerRecord): Container {
  return {
    id: r.id, pod_sandbox_id: r.sandboxId, metadata: { name: r.name, attempt: r.attempt },
    image: { image: r.request.image }, image_ref: r.imageRef, image_id: r.imageId, state: toCriState(r.state),
    created_at: r.createdAt, labels: r.labels, annotations: r.annotations,
  };
}

export function toCriStatus(r: ContainerRecord): ContainerStatus {
  const res = r.request.resources;
  return {
    id: r.id, metadata: { name: r.name, attempt: r.attempt }, state: toCriState(r.state),
    created_at: r.createdAt, started_at: r.startedAt, finished_at: r.finishedAt, exit_code: r.exitCode,
    image: { image: r.request.image }, image_ref: r.imageRef, image_id: r.imageId, reason: r.reason, message: r.message,
    labels: r.labels, annotations: r.annotations, log_path: r.logPath,
    mounts: r.request.mounts.map((m) => ({ container_path: m.containerPath, host_path: m.hostPath, readonly: m.readonly,
      propagation: m.propagation, recursive_read_only: m.recursiveReadOnly })),
    resources: { linux: {
      cpu_period: String(res.cpuPeriod ?? 0), cpu_quota: String(res.cpuQuota ?? 0), cpu_shares: String(res.cpuShares ?? 0),
      memory_limit_in_bytes: String(res.memoryLimit ?? 0), oom_score_adj: String(res.oomScoreAdj ?? 0),
      cpuset_cpus: res.cpusetCpus ?? '', cpuset_mems: res.cpusetMems ?? '',
    } },
    user: { linux: { uid: String(r.uid), gid: String(r.gid), supplemental_groups: r.additionalGids.map(String) } },
    stop_signal: toCriSignal(r.stopSignal),
  };
}

function toCriSignal(name: string): Signal {
  const candidate = `SIGNAL_${name.toUpperCase().replace(/^SIG/, 'SIG')}`;
  return (SignalValues as readonly string[]).includes(candidate) ? candidate as Signal : 'SIGNAL_RUNTIME_DEFAULT';
}
