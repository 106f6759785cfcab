// Builds a container's OCI config.json from the image config, the CRI request and the pod.
// Pure: everything read from disk (users, devices, seccomp profile, the daemon's
// oom_score_adj) comes in through SpecInput, so it is unit-tested without root.

import { FailedPreconditionError } from '../../errors.js';
import type { ImageConfig, PidMode, SandboxView } from '../dependencies.js';
import type { ContainerRequest } from '../types.js';
import { buildCapabilities } from './capabilities.js';
import {
  DEFAULT_MASKED_PATHS, DEFAULT_READONLY_PATHS, baseMounts, checkContainerPath, criMounts, podMounts,
} from './mounts.js';
import type { OciDevice, OciDeviceRule, OciNamespace, OciSpec } from './oci-types.js';
import { mergeArgs, mergeEnv, resolveWorkingDir } from './process.js';
import { buildResources, clampOomScoreAdj } from './resources.js';
import { forSpec, type SeccompProfile } from './seccomp.js';
import type { ResolvedUser } from './user.js';
import { validateSpec } from './validate.js';

export interface ResolvedDevice { device: OciDevice; permissions: string }

export interface SpecInput {
  id: string;
  request: ContainerRequest;
  image: ImageConfig;
  sandbox: SandboxView;
  rootfs: string;
  user: ResolvedUser;
  devices: ResolvedDevice[];
  /** The profile asked for (conditional rules not yet settled), null for unconfined. */
  seccomp: SeccompProfile | null;
  /** The capabilities the daemon holds (CapEff of its own status). */
  hostCapabilities: readonly string[];
  /** An AppArmor profile name when the kernel has AppArmor, else null. */
  apparmorProfile: string | null;
  /** The daemon's own oom_score_adj (the lowest value it may give). */
  oomScoreFloor: number;
  pidsLimit: number;
}

export interface BuiltSpec { spec: OciSpec; warnings: string[] }

export function cgroupsPathFor(parent: string, id: string): string {
  // A systemd parent is a slice name; cgroupfs parents are paths.
  if (parent.endsWith('.slice')) return `${parent}:keelson:${id}`;
  return `${parent.replace(/\/+$/, '')}/keelson-${id}`;
}

export function buildSpec(input: SpecInput): BuiltSpec {
  const { request, image, sandbox, user } = input;
  const sec = request.security;
  const warnings: string[] = [];
  const privileged = sec.privileged;

  const args = mergeArgs(image, request.command, request.args);
  // Defaults the image or the request may override, as containerd sets them.
  const env = mergeEnv(image, request.envs, [
    { key: 'HOME', value: user.home || '/' },
    { key: 'HOSTNAME', value: sandbox.hostname },
    ...(request.tty ? [{ key: 'TERM', value: 'xterm' }] : []),
  ]);
  const cwd = resolveWorkingDir(image, request.workingDir);

  const userMounts = criMounts(request.mounts);
  const taken = new Set(userMounts.map((m) => m.destination));
  const mounts = [
    ...baseMounts(privileged).filter((m) => !taken.has(m.destination)),
    ...podMounts(sandbox, taken, sec.readonlyRootfs),
    ...userMounts,
  ];

  const oom = clampOomScoreAdj(request.resources.oomScoreAdj, input.oomScoreFloor);
  if (oom.clamped) {
    warnings.push(`oom_score_adj ${request.resources.oomScoreAdj} raised to ${oom.value}: the daemon lacks CAP_SYS_RESOURCE and runs at ${input.oomScoreFloor}`);
  }

  const resources = buildResources(request.resources);
  const deviceRules: OciDeviceRule[] = privileged ? [{ allow: true, access: 'rwm' }] : [{ allow: false, access: 'rwm' }];
  for (const d of input.devices) {
    deviceRules.push({ allow: true, type: d.device.type === 'b' ? 'b' : 'c', major: d.device.major, minor: d.device.minor, access: d.permissions });
  }
  resources.devices = deviceRules;
  if (input.pidsLimit > 0) resources.pids = { limit: input.pidsLimit };

  const capabilities = buildCapabilities({ ...sec.capabilities, privileged }, input.hostCapabilities);
  const spec: OciSpec = {
    ociVersion: '1.0.2',
    process: {
      terminal: request.tty,
      user: { uid: user.uid, gid: user.gid, additionalGids: user.additionalGids },
      args,
      env,
      cwd,
      capabilities,
      noNewPrivileges: sec.noNewPrivs,
      oomScoreAdj: oom.value,
    },
    root: { path: input.rootfs, readonly: sec.readonlyRootfs },
    mounts,
    annotations: { ...request.annotations, 'io.kubernetes.cri.container-name': request.name,
      'io.kubernetes.cri.sandbox-id': sandbox.id },
    linux: {
      namespaces: namespacesFor(sandbox, sec.pidMode ?? sandbox.pidMode),
      devices: input.devices.map((d) => d.device),
      resources,
      cgroupsPath: cgroupsPathFor(sandbox.cgroupParent, input.id),
      maskedPaths: privileged ? [] : (sec.maskedPaths ?? DEFAULT_MASKED_PATHS).map((p, i) => checkContainerPath(p, `masked_paths[${i}]`)),
      readonlyPaths: privileged ? [] : (sec.readonlyPaths ?? DEFAULT_READONLY_PATHS).map((p, i) => checkContainerPath(p, `readonly_paths[${i}]`)),
      rootfsPropagation: 'rslave',
    },
  };
  if (input.seccomp) spec.linux.seccomp = forSpec(input.seccomp, capabilities.effective);
  if (input.apparmorProfile) spec.process.apparmorProfile = input.apparmorProfile;
  validateSpec(spec);
  return { spec, warnings };
}

function namespacesFor(sandbox: SandboxView, pidMode: PidMode): OciNamespace[] {
  const out: OciNamespace[] = [{ type: 'mount' }];
  const joined: Array<[OciNamespace['type'], string | null]> = [
    ['network', sandbox.namespaces.net],
    ['ipc', sandbox.namespaces.ipc],
    ['uts', sandbox.namespaces.uts],
  ];
  for (const [type, path] of joined) if (path) out.push({ type, path });
  if (pidMode === 'container') out.push({ type: 'pid' });
  else if (pidMode === 'pod') {
    if (!sandbox.podPidNamespace) {
      throw new FailedPreconditionError(`sandbox ${sandbox.id} has no pod pid namespace to share`);
    }
    out.push({ type: 'pid', path: sandbox.podPidNamespace });
  }
  return out;
}
