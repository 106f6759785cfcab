// Turns a Kubernetes Pod (as manifest.ts parsed it) into the CRI requests kubelet would send:
// the PodSandboxConfig and one ContainerConfig per container. Pure: no I/O.
import type {
  ContainerConfig, KeyValue, LinuxContainerResources, Mount, NamespaceOption, PodSandboxConfig, SecurityProfile,
} from '../cri/generated/cri-types.js';
import { InvalidArgumentError } from '../errors.js';
import type { ContainerSpec, Pod, SeccompProfile } from '../kube/pod-types.js';
import { metadataField } from './downward.js';
import { bytesOf, cpuMillis } from '../kube/quantity.js';
import { expand, lookupIn } from './expansion.js';
import { CONTAINER_KIND_LABEL, POD_SPEC_ANNOTATION } from '../supervisor/annotations.js';

/** Annotation on sandboxes the CLI starts: the Pod after defaults, as JSON. The supervisor's mark. */
export { CONTAINER_KIND_LABEL, POD_SPEC_ANNOTATION };
export const POD_NAME_LABEL = 'io.kubernetes.pod.name';
export const POD_NAMESPACE_LABEL = 'io.kubernetes.pod.namespace';
export const POD_UID_LABEL = 'io.kubernetes.pod.uid';
export const CONTAINER_NAME_LABEL = 'io.kubernetes.container.name';

/** Fills in what Kubernetes' API server would default. */
export function withDefaults(pod: Pod, uid: string): Pod {
  const p = structuredClone(pod);
  p.metadata.namespace ??= 'default';
  p.metadata.uid = uid;
  p.spec.restartPolicy ??= 'Always';
  p.spec.terminationGracePeriodSeconds ??= 30;
  for (const c of [...(p.spec.initContainers ?? []), ...p.spec.containers]) {
    // IfNotPresent even for :latest (kubelet would say Always): a local runner must work offline.
    c.imagePullPolicy ??= 'IfNotPresent';
    for (const probe of [c.livenessProbe, c.readinessProbe, c.startupProbe]) {
      if (!probe) continue;
      probe.initialDelaySeconds ??= 0;
      probe.periodSeconds ??= 10;
      probe.timeoutSeconds ??= 1;
      probe.successThreshold ??= 1;
      probe.failureThreshold ??= 3;
    }
  }
  return p;
}

export function podKey(pod: Pod): string {
  return `${pod.metadata.namespace ?? 'default'}_${pod.metadata.name}_${pod.metadata.uid ?? ''}`;
}

export function sandboxConfig(pod: Pod, logDirectory: string): PodSandboxConfig {
  const spec = pod.spec;
  const ns = pod.metadata.namespace ?? 'default';
  const hostNetwork = spec.hostNetwork === true;
  const namespaceOptions: NamespaceOption = {
    network: hostNetwork ? 'NODE' : 'POD',
    pid: spec.hostPID ? 'NODE' : spec.shareProcessNamespace ? 'POD' : 'CONTAINER',
    ipc: spec.hostIPC ? 'NODE' : 'POD',
  };
  const ports = spec.containers.flatMap((c) => (c.ports ?? []).filter((p) => p.hostPort !== undefined && p.hostPort > 0).map((p) => ({
    protocol: p.protocol ?? 'TCP', container_port: p.containerPort, host_port: hostNetwork ? p.containerPort : p.hostPort ?? 0, host_ip: p.hostIP ?? '',
  })));
  const dns = spec.dnsPolicy === 'None' || spec.dnsConfig
    ? {
      servers: spec.dnsConfig?.nameservers ?? [],
      searches: spec.dnsConfig?.searches ?? [],
      options: (spec.dnsConfig?.options ?? []).map((o) => (o.value === undefined ? o.name : `${o.name}:${o.value}`)),
    }
    : null;
  const sysctls: Record<string, string> = {};
  for (const s of spec.securityContext?.sysctls ?? []) sysctls[s.name] = s.value;
  const sc = spec.securityContext;
  return {
    metadata: { name: pod.metadata.name, namespace: ns, uid: pod.metadata.uid ?? '', attempt: 0 },
    hostname: hostNetwork ? '' : (spec.hostname ?? pod.metadata.name).slice(0, 63),
    log_directory: logDirectory,
    ...(dns ? { dns_config: dns } : {}),
    port_mappings: ports,
    labels: { ...(pod.metadata.labels ?? {}), [POD_NAME_LABEL]: pod.metadata.name, [POD_NAMESPACE_LABEL]: ns, [POD_UID_LABEL]: pod.metadata.uid ?? '' },
    annotations: { ...(pod.metadata.annotations ?? {}), [POD_SPEC_ANNOTATION]: JSON.stringify(pod) },
    linux: {
      sysctls,
      security_context: {
        namespace_options: namespaceOptions,
        ...(sc?.runAsUser !== undefined ? { run_as_user: { value: String(sc.runAsUser) } } : {}),
        ...(sc?.runAsGroup !== undefined ? { run_as_group: { value: String(sc.runAsGroup) } } : {}),
        supplemental_groups: [...(sc?.supplementalGroups ?? []), ...(sc?.fsGroup !== undefined ? [sc.fsGroup] : [])].map(String),
        privileged: [...(spec.initContainers ?? []), ...spec.containers].some((c) => c.securityContext?.privileged === true),
      },
    },
  };
}

/** Where a container's values for fieldRef / configMapKeyRef / secretKeyRef come from. */
export interface EnvSources {
  podIP: string;
  nodeName: string;
  /** name -> key -> value, from --configmap / --secret. */
  configMaps: Map<string, Map<string, string>>;
  secrets: Map<string, Map<string, string>>;
}

function fieldValue(pod: Pod, path: string, src: EnvSources, where: string): string {
  const meta = metadataField(pod, path);
  if (meta !== undefined) return meta;
  switch (path) {
    case 'status.podIP': return src.podIP;
    case 'spec.nodeName': return src.nodeName;
    case 'status.hostIP': return '127.0.0.1';
    default: throw new InvalidArgumentError(`${where}.valueFrom.fieldRef.fieldPath "${path}" is not supported (metadata.name, metadata.namespace, metadata.uid, metadata.labels['x'], status.podIP, spec.nodeName)`);
  }
}

function envOf(pod: Pod, c: ContainerSpec, src: EnvSources, where: string): KeyValue[] {
  // kubelet expands a literal value against the vars defined before it (there is no service env: no API server).
  const defined = new Map<string, string>();
  const lookup = lookupIn(defined);
  const out: KeyValue[] = [];
  const set = (key: string, value: string): void => {
    defined.set(key, value);
    const at = out.findIndex((kv) => kv.key === key);
    if (at === -1) out.push({ key, value: Buffer.from(value) });
    else out[at] = { key, value: Buffer.from(value) };
  };
  (c.env ?? []).forEach((e, i) => {
    const at = `${where}.env[${i}]`;
    const from = e.valueFrom;
    if (e.value !== undefined && e.value !== '') return set(e.name, expand(e.value, lookup));
    if (!from) return set(e.name, '');
    if (from.fieldRef) return set(e.name, fieldValue(pod, from.fieldRef.fieldPath, src, at));
    const ref = from.configMapKeyRef ?? from.secretKeyRef;
    if (ref) {
      const kind = from.configMapKeyRef ? 'configMap' : 'secret';
      const store = from.configMapKeyRef ? src.configMaps : src.secrets;
      const value = store.get(ref.name ?? '')?.get(ref.key);
      if (value === undefined) {
        if (ref.optional) return;
        throw new InvalidArgumentError(`${at}.valueFrom.${kind}KeyRef: ${kind} "${ref.name ?? ''}" key "${ref.key}" not found (give it with --${kind.toLowerCase()} ${ref.name ?? 'NAME'}=DIR|FILE)`);
      }
      return set(e.name, value);
    }
    throw new InvalidArgumentError(`${at}.valueFrom: only fieldRef, configMapKeyRef and secretKeyRef are supported`);
  });
  return out;
}

function seccompOf(p: SeccompProfile | undefined): SecurityProfile {
  if (!p) return { profile_type: 'RuntimeDefault' };
  return p.type === 'Localhost' ? { profile_type: 'Localhost', localhost_ref: p.localhostProfile ?? '' } : { profile_type: p.type };
}

/** kubelet's mapping: shares from requests (min 2), quota/period from limits, memory limit. */
export function resourcesOf(c: ContainerSpec, where: string): LinuxContainerResources {
  const r: LinuxContainerResources = {};
  const req = c.resources?.requests ?? {};
  const lim = c.resources?.limits ?? {};
  const cpuRequest = req.cpu ?? lim.cpu;
  if (cpuRequest !== undefined) r.cpu_shares = String(Math.max(2, Math.floor((cpuMillis(cpuRequest, `${where}.resources.requests.cpu`) * 1024) / 1000)));
  if (lim.cpu !== undefined) {
    r.cpu_period = '100000';
    r.cpu_quota = String(Math.max(1000, Math.floor((cpuMillis(lim.cpu, `${where}.resources.limits.cpu`) * 100000) / 1000)));
  }
  if (lim.memory !== undefined) r.memory_limit_in_bytes = String(bytesOf(lim.memory, `${where}.resources.limits.memory`));
  return r;
}

export function containerConfig(
  pod: Pod, c: ContainerSpec, kind: 'init' | 'app', mounts: Mount[], src: EnvSources, attempt = 0,
): ContainerConfig {
  const where = `spec.${kind === 'init' ? 'initContainers' : 'containers'}[${(kind === 'init' ? pod.spec.initContainers ?? [] : pod.spec.containers).indexOf(c)}]`;
  const psc = pod.spec.securityContext;
  const sc = c.securityContext;
  const runAsUser = sc?.runAsUser ?? psc?.runAsUser;
  const runAsGroup = sc?.runAsGroup ?? psc?.runAsGroup;
  const runAsNonRoot = sc?.runAsNonRoot ?? psc?.runAsNonRoot;
  if (runAsNonRoot && runAsUser === 0) throw new InvalidArgumentError(`${where}.securityContext: runAsNonRoot is true but runAsUser is 0`);
  const ns = pod.metadata.namespace ?? 'default';
  const envs = envOf(pod, c, src, where);
  // command and args are expanded against the container's full env.
  const full = lookupIn(new Map(envs.map((kv): [string, string] => [kv.key ?? '', kv.value?.toString() ?? ''])));
  return {
    metadata: { name: c.name, attempt },
    image: { image: c.image },
    command: (c.command ?? []).map((a) => expand(a, full)),
    args: (c.args ?? []).map((a) => expand(a, full)),
    working_dir: c.workingDir ?? '',
    envs,
    mounts,
    labels: {
      [POD_NAME_LABEL]: pod.metadata.name, [POD_NAMESPACE_LABEL]: ns, [POD_UID_LABEL]: pod.metadata.uid ?? '',
      [CONTAINER_NAME_LABEL]: c.name, [CONTAINER_KIND_LABEL]: kind,
    },
    annotations: {},
    log_path: `${c.name}/${attempt}.log`,
    stdin: c.stdin ?? false,
    stdin_once: c.stdinOnce ?? false,
    tty: c.tty ?? false,
    linux: {
      resources: resourcesOf(c, where),
      security_context: {
        privileged: sc?.privileged ?? false,
        ...(runAsUser !== undefined ? { run_as_user: { value: String(runAsUser) } } : {}),
        ...(runAsGroup !== undefined ? { run_as_group: { value: String(runAsGroup) } } : {}),
        readonly_rootfs: sc?.readOnlyRootFilesystem ?? false,
        no_new_privs: sc?.allowPrivilegeEscalation === false,
        capabilities: { add_capabilities: sc?.capabilities?.add ?? [], drop_capabilities: sc?.capabilities?.drop ?? [] },
        seccomp: sc?.privileged ? { profile_type: 'Unconfined' } : seccompOf(sc?.seccompProfile ?? psc?.seccompProfile),
        supplemental_groups: [...(psc?.supplementalGroups ?? []), ...(psc?.fsGroup !== undefined ? [psc.fsGroup] : [])].map(String),
        namespace_options: {
          network: pod.spec.hostNetwork ? 'NODE' : 'POD',
          pid: pod.spec.hostPID ? 'NODE' : pod.spec.shareProcessNamespace ? 'POD' : 'CONTAINER',
          ipc: pod.spec.hostIPC ? 'NODE' : 'POD',
        },
      },
    },
  };
}
