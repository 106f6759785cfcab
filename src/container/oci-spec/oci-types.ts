// The parts of the OCI runtime-spec config.json that keelson emits.

export interface OciMount { destination: string; type: string; source: string; options: string[] }
export interface OciNamespace { type: 'pid' | 'network' | 'ipc' | 'uts' | 'mount' | 'cgroup' | 'user'; path?: string }
export interface OciDevice { path: string; type: 'c' | 'b' | 'p'; major: number; minor: number; fileMode?: number; uid?: number; gid?: number }
export interface OciDeviceRule { allow: boolean; type?: 'a' | 'c' | 'b'; major?: number; minor?: number; access?: string }

export interface OciResources {
  devices?: OciDeviceRule[];
  memory?: { limit?: number; swap?: number };
  cpu?: { shares?: number; quota?: number; period?: number; cpus?: string; mems?: string };
  pids?: { limit: number };
  hugepageLimits?: Array<{ pageSize: string; limit: number }>;
  unified?: Record<string, string>;
}

export interface OciSeccompRule {
  names: string[];
  action: string;
  errnoRet?: number;
  args?: Array<{ index: number; value: number; valueTwo?: number; op: string }>;
}

export interface OciSeccomp {
  defaultAction: string;
  defaultErrnoRet?: number;
  architectures?: string[];
  flags?: string[];
  syscalls?: OciSeccompRule[];
}

export interface OciCapabilities {
  bounding: string[]; effective: string[]; permitted: string[]; inheritable: string[]; ambient: string[];
}

export interface OciProcess {
  terminal: boolean;
  user: { uid: number; gid: number; additionalGids: number[]; umask?: number };
  args: string[];
  env: string[];
  cwd: string;
  capabilities: OciCapabilities;
  noNewPrivileges: boolean;
  oomScoreAdj?: number;
  apparmorProfile?: string;
  rlimits?: Array<{ type: string; hard: number; soft: number }>;
}

export interface OciSpec {
  ociVersion: string;
  process: OciProcess;
  root: { path: string; readonly: boolean };
  hostname?: string;
  mounts: OciMount[];
  annotations: Record<string, string>;
  linux: {
    namespaces: OciNamespace[];
    devices: OciDevice[];
    resources: OciResources;
    cgroupsPath: string;
    seccomp?: OciSeccomp;
    maskedPaths: string[];
    readonlyPaths: string[];
    rootfsPropagation?: string;
    sysctl?: Record<string, string>;
  };
}
