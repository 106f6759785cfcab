// What the container service needs from the image and sandbox services, kept minimal so
// the container half builds and tests on its own; the daemon wires the real services in.

import type { ImageConfigRuntime } from '../image/manifest.js';

/** The runtime part of an OCI image config (`config` member), as the image service parses it. */
export type ImageConfig = ImageConfigRuntime;

export interface ResolvedImage {
  /** The image id (`sha256:` of its config). */
  id: string;
  /** The reference the image was found by, for status (repo digest or tag). */
  ref?: string;
  config: ImageConfig;
}

export interface ImageProvider {
  /** The image by tag, digest or id, or null when it is not on the node. */
  resolve(ref: string): ResolvedImage | null;
  /** A writable rootfs for one container (overlay over the image's layers). */
  prepareRootfs(containerId: string, imageId: string): Promise<{ rootfs: string }>;
  /**
   * An image's filesystem mounted read-only for one container (image volume number `index`),
   * after prepareRootfs; removeRootfs unmounts it. Answers the mounted directory.
   */
  mountImageVolume(containerId: string, index: number, imageId: string): Promise<string>;
  /** Unmounts and deletes the container's rootfs (and its image volumes). Idempotent. */
  removeRootfs(containerId: string): Promise<void>;
  /** Bytes and inodes used by the container's writable layer. */
  rootfsUsage(containerId: string): Promise<{ bytes: number; inodes: number }>;
}

export type SandboxState = 'SANDBOX_READY' | 'SANDBOX_NOTREADY';
export type PidMode = 'container' | 'pod' | 'node';

export interface SandboxView {
  id: string;
  /** The pod's hostname (the containers' HOSTNAME). */
  hostname: string;
  metadata: { name: string; namespace: string; uid: string; attempt: number };
  state: SandboxState;
  runtimeHandler: string;
  /** Pinned namespace files; null means the host's namespace. */
  namespaces: { net: string | null; ipc: string | null; uts: string | null };
  pidMode: PidMode;
  /** The pod's pid namespace (e.g. /proc/<infra pid>/ns/pid) when pidMode is 'pod'. */
  podPidNamespace: string | null;
  /** Already in the form OCI linux.cgroupsPath wants (cgroupfs path or systemd slice:prefix:name). */
  cgroupParent: string;
  files: { hostname: string | null; hosts: string | null; resolvConf: string | null; shm: string | null };
  logDirectory: string | null;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

export interface SandboxProvider {
  get(sandboxId: string): SandboxView | null;
}
