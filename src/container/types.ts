// The container service's own request and record types. The CRI edge (src/cri) translates
// CRI messages into these; the service never sees gRPC types.

import type { CapabilityRequest } from './oci-spec/capabilities.js';
import type { MountRequest } from './oci-spec/mounts.js';
import type { KeyValuePair } from './oci-spec/process.js';
import type { PidMode } from './dependencies.js';

export interface ResourceRequest {
  cpuPeriod?: number | undefined;
  cpuQuota?: number | undefined;
  cpuShares?: number | undefined;
  memoryLimit?: number | undefined;
  memorySwapLimit?: number | undefined;
  oomScoreAdj?: number | undefined;
  cpusetCpus?: string | undefined;
  cpusetMems?: string | undefined;
  hugepageLimits?: Array<{ pageSize: string; limit: number }> | undefined;
  unified?: Record<string, string> | undefined;
}

export type ProfileType = 'RuntimeDefault' | 'Unconfined' | 'Localhost';
export interface SecurityProfileRequest { type: ProfileType; localhostRef?: string | undefined }

export interface SecurityRequest {
  privileged: boolean;
  capabilities: CapabilityRequest;
  /** Overrides the sandbox's pid mode when given. */
  pidMode?: PidMode | undefined;
  runAsUser?: number | undefined;
  runAsGroup?: number | undefined;
  runAsUsername?: string | undefined;
  supplementalGroups: number[];
  /** 'Strict': only the primary and the requested groups, not the image's /etc/group. */
  supplementalGroupsPolicy?: 'Merge' | 'Strict' | undefined;
  readonlyRootfs: boolean;
  noNewPrivs: boolean;
  /** undefined: the defaults; [] means none (kubelet's Unmasked procMount). */
  maskedPaths?: string[] | undefined;
  readonlyPaths?: string[] | undefined;
  seccomp: SecurityProfileRequest;
  apparmor: SecurityProfileRequest;
}

export interface DeviceRequest { containerPath: string; hostPath: string; permissions: string }

export interface ContainerRequest {
  name: string;
  attempt: number;
  /** The image reference as the client gave it. */
  image: string;
  command: string[];
  args: string[];
  workingDir: string;
  envs: KeyValuePair[];
  mounts: MountRequest[];
  devices: DeviceRequest[];
  /** CDI devices by qualified name (vendor.com/class=name); see cdi.ts. */
  cdiDevices?: string[] | undefined;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  /** Relative to the sandbox's log directory. */
  logPath: string;
  stdin: boolean;
  stdinOnce: boolean;
  tty: boolean;
  resources: ResourceRequest;
  security: SecurityRequest;
  /** A signal name such as "SIGTERM"; undefined: the image's, else SIGTERM. */
  stopSignal?: string | undefined;
}

export type ContainerState = 'created' | 'running' | 'exited' | 'unknown';

export interface ContainerRecord {
  id: string;
  sandboxId: string;
  name: string;
  attempt: number;
  imageRef: string;
  imageId: string;
  state: ContainerState;
  createdAt: string; // ns since epoch, decimal ('0': not yet)
  startedAt: string;
  finishedAt: string;
  exitCode: number;
  reason: string;
  message: string;
  pid: number;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  logPath: string;
  runtimeHandler: string;
  stopSignal: string;
  request: ContainerRequest;
  uid: number;
  gid: number;
  additionalGids: number[];
  /** linux.cgroupsPath of its spec. */
  cgroupsPath: string;
}
