// The sandbox as the service keeps it, and as other services (containers) read it.
import type { CgroupDriver } from '../cgroup/detect.js';
import type { CniResult } from '../cni/result.js';

export type SandboxState = 'SANDBOX_READY' | 'SANDBOX_NOTREADY';
export type NamespaceMode = 'POD' | 'CONTAINER' | 'NODE' | 'TARGET';

/**
 * Where the sandbox is in its life. 'creating' rows are rolled back at start-up; the network
 * phase 'setup-started' is written before CNI ADD so a crash still leads to a DEL.
 */
export type SandboxPhase = 'creating' | 'ready' | 'stopped';
export type NetworkPhase = 'none' | 'setup-started' | 'up' | 'down';

export interface SandboxMetadata {
  name: string;
  namespace: string;
  uid: string;
  attempt: number;
}

export interface PodSecurityContext {
  runAsUser: string | null;
  runAsGroup: string | null;
  supplementalGroups: string[];
  readonlyRootfs: boolean;
  privileged: boolean;
  seccomp: { profileType: string; localhostRef: string } | null;
  apparmor: { profileType: string; localhostRef: string } | null;
  selinux: { user: string; role: string; type: string; level: string } | null;
}

export interface SandboxRecord {
  id: string;
  metadata: SandboxMetadata;
  state: SandboxState;
  phase: SandboxPhase;
  network: NetworkPhase;
  /** Nanoseconds since the epoch, as a decimal string (CRI int64). */
  createdAt: string;
  runtimeHandler: string;
  hostname: string;
  hostNetwork: boolean;
  hostIpc: boolean;
  hostPid: boolean;
  pidMode: NamespaceMode;
  /** Pinned namespace files; null where the pod uses the host's. */
  namespaces: { net: string | null; ipc: string | null; uts: string | null };
  cgroup: {
    driver: CgroupDriver;
    /** The pod cgroup below each hierarchy root, e.g. /kubepods/pod123. */
    path: string;
    /** What a container's linux.cgroupsPath builds on: the path (cgroupfs) or the slice name (systemd). */
    parent: string;
    /** Dirs keelson created (removed at RemovePodSandbox); empty if the parent existed. */
    createdDirs: string[];
    /** True when no cgroup_parent was given and the pod lives under keelson's own parent. */
    keelsonParent: boolean;
  };
  files: { dir: string; hostname: string; hosts: string; resolvConf: string; shm: string | null };
  ips: string[];
  /** The infra process holding a pod-shared PID namespace (pid mode POD); null otherwise. */
  infra?: { pid: number } | null;
  /** The CNI network name and ADD result, once the network is up. */
  cni: { network: string; ifName: string; result: CniResult | null } | null;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  logDirectory: string;
  portMappings: Array<{ protocol: string; containerPort: number; hostPort: number; hostIp: string }>;
  sysctls: Record<string, string>;
  securityContext: PodSecurityContext;
}

/** What the container service may plug in so Stop/Remove of a sandbox reach its containers. */
