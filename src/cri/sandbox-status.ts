import type { ContainerService } from '../container/service.js';
import { InvalidArgumentError } from '../errors.js';
import { toCriStatus } from './container-convert.js';
import type { SandboxService } from '../sandbox/service.js';
import type { SandboxRecord } from '../sandbox/types.js';
import type { PodSandboxStatus, PodSandboxStatusRequest, PodSandboxStatusResponse } from './generated/cri-types.js';
import { nowNs } from '../time.js';

export function podSandboxStatus(sandboxes: SandboxService, containers: ContainerService) {
  return async (request: PodSandboxStatusRequest): Promise<PodSandboxStatusResponse> => {
    if (!request.pod_sandbox_id) throw new InvalidArgumentError('pod_sandbox_id is required');
    const record = sandboxes.resolve(request.pod_sandbox_id);
    const info: Record<string, string> = {};
    // containerd puts its sandbox info as JSON under "info"; crictl inspectp prints it.
    if (request.verbose) info.info = JSON.stringify(verboseInfo(record));
    // With evented PLEG kubelet reads the pod's container statuses from here, in one call.
    const statuses = (await containers.list({ sandboxId: record.id })).map(toCriStatus);
    return { status: statusOf(record), info, containers_statuses: statuses, timestamp: nowNs() };
  };
}

export function statusOf(r: SandboxRecord): PodSandboxStatus {
  const [ip = '', ...more] = r.ips;
  return {
    id: r.id,
    metadata: { ...r.metadata },
    state: r.state,
    created_at: r.createdAt,
    network: { ip, additional_ips: more.map((a) => ({ ip: a })) },
    linux: {
      namespaces: {
        options: {
          network: r.hostNetwork ? 'NODE' : 'POD',
          pid: r.pidMode,
          ipc: r.hostIpc ? 'NODE' : 'POD',
          target_id: '',
        },
      },
    },
    labels: r.labels,
    annotations: r.annotations,
    runtime_handler: r.runtimeHandler,
  };
}

function verboseInfo(r: SandboxRecord): Record<string, unknown> {
  return {
    phase: r.phase,
    networkPhase: r.network,
    runtimeHandler: r.runtimeHandler,
    hostname: r.hostname,
    namespaces: r.namespaces,
    cgroup: { driver: r.cgroup.driver, path: r.cgroup.path, parent: r.cgroup.parent },
    files: r.files,
    cniResult: r.cni?.result ?? null,
    cniNetwork: r.cni?.network ?? null,
    infraPid: r.infra?.pid ?? null,
    portMappings: r.portMappings,
    sysctls: r.sysctls,
    securityContext: r.securityContext,
    logDirectory: r.logDirectory,
  };
}
