// What RunPodSandbox asks for, in domain terms (the CRI edge maps the request to this), and
// the checks that run before anything is changed.
import { isIP } from 'node:net';
import { InvalidArgumentError, UnimplementedError } from '../errors.js';
import type { PodResources } from '../cgroup/pod-cgroup.js';
import { checkPodResources } from '../cgroup/pod-cgroup.js';
import { checkDnsConfig, checkHostname, type DnsConfig } from './pod-files.js';
import { checkSysctls } from './sysctls.js';
import type { NamespaceMode, PodSecurityContext, SandboxMetadata } from './types.js';

export interface PortMappingSpec {
  protocol: 'TCP' | 'UDP' | 'SCTP';
  containerPort: number;
  hostPort: number;
  hostIp: string;
}

export interface SandboxSpec {
  metadata: SandboxMetadata;
  hostname: string;
  logDirectory: string;
  dns: DnsConfig | null;
  portMappings: PortMappingSpec[];
  labels: Record<string, string>;
  annotations: Record<string, string>;
  cgroupParent: string;
  namespaces: { network: NamespaceMode; pid: NamespaceMode; ipc: NamespaceMode };
  sysctls: Record<string, string>;
  /** The pod's limits with the runtime class overhead added. */
  resources: PodResources;
  securityContext: PodSecurityContext;
  /** '' means the default handler. */
  runtimeHandler: string;
}

const NAME = /^[a-zA-Z0-9]([a-zA-Z0-9._-]*[a-zA-Z0-9])?$/;
const UID = /^[a-zA-Z0-9]([a-zA-Z0-9._-]*)$/;

/** Throws InvalidArgument (or Unimplemented) naming the field; changes nothing. */
export function checkSandboxSpec(spec: SandboxSpec, handlers: readonly string[], sharedPidSupported = false): void {
  const m = spec.metadata;
  // Names end up in CNI_ARGS (K=V;K=V), file names and logs: keep them to DNS-ish characters.
  if (!m.name || m.name.length > 253 || !NAME.test(m.name)) throw new InvalidArgumentError(`metadata.name ${JSON.stringify(m.name)} must be 1-253 letters, digits, '.', '_' or '-'`);
  if (!m.namespace || m.namespace.length > 253 || !NAME.test(m.namespace)) throw new InvalidArgumentError(`metadata.namespace ${JSON.stringify(m.namespace)} must be 1-253 letters, digits, '.', '_' or '-'`);
  if (!m.uid || m.uid.length > 128 || !UID.test(m.uid)) throw new InvalidArgumentError(`metadata.uid ${JSON.stringify(m.uid)} must be 1-128 letters, digits, '.', '_' or '-'`);
  if (!Number.isInteger(m.attempt) || m.attempt < 0) throw new InvalidArgumentError(`metadata.attempt ${m.attempt} must be a non-negative integer`);
  if (spec.hostname !== '') checkHostname(spec.hostname);
  if (spec.logDirectory !== '' && (!spec.logDirectory.startsWith('/') || spec.logDirectory.split('/').includes('..'))) {
    throw new InvalidArgumentError(`log_directory ${JSON.stringify(spec.logDirectory)} must be an absolute path without ".."`);
  }
  if (spec.dns) checkDnsConfig(spec.dns);
  const seen = new Set<string>();
  for (const [i, p] of spec.portMappings.entries()) {
    if (!['TCP', 'UDP', 'SCTP'].includes(p.protocol)) throw new InvalidArgumentError(`port_mappings[${i}].protocol ${JSON.stringify(p.protocol)} is not TCP, UDP or SCTP`);
    if (!Number.isInteger(p.containerPort) || p.containerPort < 1 || p.containerPort > 65535) throw new InvalidArgumentError(`port_mappings[${i}].container_port ${p.containerPort} is not a port (1-65535)`);
    if (!Number.isInteger(p.hostPort) || p.hostPort < 0 || p.hostPort > 65535) throw new InvalidArgumentError(`port_mappings[${i}].host_port ${p.hostPort} is not a port (0-65535)`);
    if (p.hostIp !== '' && isIP(p.hostIp) === 0) throw new InvalidArgumentError(`port_mappings[${i}].host_ip ${JSON.stringify(p.hostIp)} is not an IP address`);
    if (p.hostPort > 0) {
      const key = `${p.protocol}/${p.hostIp}/${p.hostPort}`;
      if (seen.has(key)) throw new InvalidArgumentError(`port_mappings[${i}] maps host port ${p.hostPort}/${p.protocol} a second time`);
      seen.add(key);
    }
  }
  const ns = spec.namespaces;
  if (ns.network !== 'POD' && ns.network !== 'NODE') throw new InvalidArgumentError(`namespace_options.network ${ns.network} is not allowed for a pod (POD or NODE)`);
  if (ns.ipc !== 'POD' && ns.ipc !== 'NODE') throw new InvalidArgumentError(`namespace_options.ipc ${ns.ipc} is not allowed for a pod (POD or NODE)`);
  if (ns.pid === 'TARGET') throw new InvalidArgumentError('namespace_options.pid TARGET is only for containers, not for a pod');
  if (ns.pid === 'POD' && !sharedPidSupported) {
    // A shared PID namespace needs the infra process (catatonit under conmon).
    throw new UnimplementedError('namespace_options.pid=POD (a pod-shared PID namespace) needs the infra process, which this daemon was started without');
  }
  checkSysctls(spec.sysctls, { hostNetwork: ns.network === 'NODE', hostIpc: ns.ipc === 'NODE' });
  checkPodResources(spec.resources);
  bandwidthOf(spec.annotations);
  if (spec.runtimeHandler !== '' && !handlers.includes(spec.runtimeHandler)) {
    throw new InvalidArgumentError(`runtime_handler ${JSON.stringify(spec.runtimeHandler)} is not configured or its binary is missing (usable: ${handlers.join(', ')})`);
  }
}

/** CNI_ARGS for kubernetes-aware plugins. */
export function cniArgs(id: string, m: SandboxMetadata): Array<[string, string]> {
  return [
    ['IgnoreUnknown', '1'],
    ['K8S_POD_NAMESPACE', m.namespace],
    ['K8S_POD_NAME', m.name],
    ['K8S_POD_INFRA_CONTAINER_ID', id],
    ['K8S_POD_UID', m.uid],
  ];
}

/**
 * Bandwidth from the kubernetes.io/{ingress,egress}-bandwidth annotations (a quantity such as
 * "10M" in bits per second), as containerd passes them to the bandwidth plugin.
 */
export function bandwidthOf(annotations: Record<string, string>): { ingressRate?: number; ingressBurst?: number; egressRate?: number; egressBurst?: number } | undefined {
  const parse = (key: string): number | undefined => {
    const v = annotations[key];
    if (v === undefined) return undefined;
    const m = /^(\d+(?:\.\d+)?)(k|M|G|T|Ki|Mi|Gi|Ti)?$/.exec(v);
    if (!m) throw new InvalidArgumentError(`annotation ${key} ${JSON.stringify(v)} is not a quantity such as "10M"`);
    const mult: Record<string, number> = { '': 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12, Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3, Ti: 1024 ** 4 };
    return Math.round(Number(m[1]) * (mult[m[2] ?? ''] ?? 1));
  };
  const ingress = parse('kubernetes.io/ingress-bandwidth');
  const egress = parse('kubernetes.io/egress-bandwidth');
  if (ingress === undefined && egress === undefined) return undefined;
  const out: { ingressRate?: number; ingressBurst?: number; egressRate?: number; egressBurst?: number } = {};
  if (ingress !== undefined) Object.assign(out, { ingressRate: ingress, ingressBurst: 2 ** 31 - 1 });
  if (egress !== undefined) Object.assign(out, { egressRate: egress, egressBurst: 2 ** 31 - 1 });
  return out;
}
