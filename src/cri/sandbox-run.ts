import type { PodResources } from '../cgroup/pod-cgroup.js';
import { InvalidArgumentError } from '../errors.js';
import type { PodService } from '../pod/service.js';
import type { SandboxSpec } from '../sandbox/spec.js';
import type { NamespaceMode, PodSecurityContext } from '../sandbox/types.js';
import type {
  LinuxContainerResources, LinuxSandboxSecurityContext, RunPodSandboxRequest, RunPodSandboxResponse,
} from './generated/cri-types.js';

export function runPodSandbox(pods: PodService) {
  return async (request: RunPodSandboxRequest): Promise<RunPodSandboxResponse> => {
    const record = await pods.runPod(sandboxSpecOf(request));
    return { pod_sandbox_id: record.id };
  };
}

/** The CRI request in domain terms; missing fields take CRI's defaults. */
export function sandboxSpecOf(request: RunPodSandboxRequest): SandboxSpec {
  const config = request.config;
  if (!config) throw new InvalidArgumentError('config is required');
  const meta = config.metadata;
  if (!meta) throw new InvalidArgumentError('config.metadata is required');
  const linux = config.linux ?? {};
  const sc = linux.security_context ?? {};
  const ns = sc.namespace_options ?? {};
  const dns = config.dns_config;
  return {
    metadata: { name: meta.name ?? '', namespace: meta.namespace ?? '', uid: meta.uid ?? '', attempt: meta.attempt ?? 0 },
    hostname: config.hostname ?? '',
    logDirectory: config.log_directory ?? '',
    dns: dns ? { servers: dns.servers ?? [], searches: dns.searches ?? [], options: dns.options ?? [] } : null,
    portMappings: (config.port_mappings ?? []).map((p) => ({
      protocol: p.protocol ?? 'TCP', containerPort: p.container_port ?? 0, hostPort: p.host_port ?? 0, hostIp: p.host_ip ?? '',
    })),
    labels: { ...(config.labels ?? {}) },
    annotations: { ...(config.annotations ?? {}) },
    cgroupParent: linux.cgroup_parent ?? '',
    namespaces: {
      network: (ns.network ?? 'POD') as NamespaceMode,
      pid: (ns.pid ?? 'CONTAINER') as NamespaceMode,
      ipc: (ns.ipc ?? 'POD') as NamespaceMode,
    },
    sysctls: { ...(linux.sysctls ?? {}) },
    resources: podResourcesOf(linux.resources ?? null, linux.overhead ?? null),
    securityContext: securityContextOf(sc),
    runtimeHandler: request.runtime_handler ?? '',
  };
}

function int(field: string, v: string | null | undefined): number | undefined {
  if (v === null || v === undefined || v === '' || v === '0') return undefined;
  const n = Number(v);
  if (!Number.isSafeInteger(n)) throw new InvalidArgumentError(`${field} ${v} is out of range`);
  return n;
}

/** The pod's limits plus the runtime class overhead, where both are given. */
export function podResourcesOf(res: LinuxContainerResources | null, overhead: LinuxContainerResources | null): PodResources {
  const out: PodResources = {};
  const add = (a: number | undefined, b: number | undefined): number | undefined => (a === undefined ? undefined : a + (b ?? 0));
  const shares = int('linux.resources.cpu_shares', res?.cpu_shares);
  const quota = int('linux.resources.cpu_quota', res?.cpu_quota);
  const period = int('linux.resources.cpu_period', res?.cpu_period);
  const memory = int('linux.resources.memory_limit_in_bytes', res?.memory_limit_in_bytes);
  const oShares = int('linux.overhead.cpu_shares', overhead?.cpu_shares);
  const oQuota = int('linux.overhead.cpu_quota', overhead?.cpu_quota);
  const oMemory = int('linux.overhead.memory_limit_in_bytes', overhead?.memory_limit_in_bytes);
  const s = add(shares, oShares);
  const q = add(quota, oQuota);
  const m = add(memory, oMemory);
  if (s !== undefined) out.cpuShares = s;
  if (q !== undefined) out.cpuQuota = q;
  if (period !== undefined) out.cpuPeriod = period;
  if (m !== undefined) out.memoryLimitBytes = m;
  if (res?.cpuset_cpus) out.cpusetCpus = res.cpuset_cpus;
  if (res?.cpuset_mems) out.cpusetMems = res.cpuset_mems;
  if (res?.unified && Object.keys(res.unified).length > 0) out.unified = { ...res.unified };
  return out;
}

function securityContextOf(sc: LinuxSandboxSecurityContext): PodSecurityContext {
  const profile = (p: { profile_type?: string | null; localhost_ref?: string | null } | null | undefined) =>
    p ? { profileType: p.profile_type ?? 'RuntimeDefault', localhostRef: p.localhost_ref ?? '' } : null;
  const se = sc.selinux_options;
  return {
    runAsUser: sc.run_as_user?.value ?? null,
    runAsGroup: sc.run_as_group?.value ?? null,
    supplementalGroups: [...(sc.supplemental_groups ?? [])],
    readonlyRootfs: sc.readonly_rootfs ?? false,
    privileged: sc.privileged ?? false,
    seccomp: profile(sc.seccomp),
    apparmor: profile(sc.apparmor),
    selinux: se ? { user: se.user ?? '', role: se.role ?? '', type: se.type ?? '', level: se.level ?? '' } : null,
  };
}
