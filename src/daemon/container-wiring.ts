// Builds the container service over the real image and sandbox services: two small adapters
// turn them into the providers src/container/dependencies.ts asks for, and the sandbox
// service gets hooks so Stop/RemovePodSandbox reach the pod's containers.
import type { CgroupLayout } from '../cgroup/detect.js';
import type { Config } from '../config/schema.js';
import type { ImageProvider, PidMode, SandboxProvider, SandboxView } from '../container/dependencies.js';
import { findExecutable } from '../container/find-executable.js';
import { ContainerService } from '../container/service.js';
import type { ImageService } from '../image/image-service.js';
import type { Logger } from '../logger.js';
import type { SandboxService } from '../sandbox/service.js';
import type { SandboxRecord } from '../sandbox/types.js';
import type { Db } from '../store/database.js';
import { NotFoundError } from '../errors.js';

async function ignoreNotFound(p: Promise<void>): Promise<void> {
  try {
    await p;
  } catch (err) {
    if (!(err instanceof NotFoundError)) throw err;
  }
}

function imageProvider(images: ImageService): ImageProvider {
  return {
    resolve(ref) {
      const record = images.resolve(ref);
      if (!record) return null;
      return { id: record.id, ref: record.repoDigests[0] ?? record.repoTags[0], config: record.config.config ?? {} };
    },
    prepareRootfs: (containerId, imageId) => images.prepareContainerRootfs(containerId, imageId),
    removeRootfs: (containerId) => images.removeContainerRootfs(containerId),
    rootfsUsage: (containerId) => images.containerUsage(containerId),
  };
}

function pidModeOf(record: SandboxRecord): PidMode {
  if (record.hostPid) return 'node';
  return record.pidMode === 'POD' ? 'pod' : 'container';
}

export function sandboxView(record: SandboxRecord): SandboxView {
  return {
    id: record.id,
    metadata: record.metadata,
    state: record.state,
    runtimeHandler: record.runtimeHandler,
    namespaces: record.namespaces,
    pidMode: pidModeOf(record),
    podPidNamespace: record.infra ? `/proc/${record.infra.pid}/ns/pid` : null,
    cgroupParent: record.cgroup.parent,
    files: {
      hostname: record.files.hostname,
      hosts: record.files.hosts,
      resolvConf: record.files.resolvConf,
      shm: record.files.shm,
    },
    logDirectory: record.logDirectory || null,
    labels: record.labels,
    annotations: record.annotations,
  };
}

function sandboxProvider(sandboxes: SandboxService): SandboxProvider {
  return {
    get(sandboxId) {
      const record = sandboxes.get(sandboxId);
      return record ? sandboxView(record) : null;
    },
    addContainer: (sandboxId, containerId) => sandboxes.registerContainer(sandboxId, containerId),
    removeContainer: (sandboxId, containerId) => sandboxes.unregisterContainer(sandboxId, containerId),
  };
}

export async function startContainerService(opts: {
  config: Config;
  db: Db;
  log: Logger;
  cgroupLayout: CgroupLayout;
  images: ImageService;
  sandboxes: SandboxService;
}): Promise<ContainerService> {
  const { config, log } = opts;
  const handlers: Record<string, string> = {};
  for (const [name, handler] of Object.entries(config.runtime.handlers)) {
    const binary = findExecutable(handler.path);
    if (binary) handlers[name] = binary;
    else log.warn({ handler: name, path: handler.path }, 'runtime handler binary not found; the handler is unusable');
  }
  const service = new ContainerService({
    db: opts.db,
    root: config.root,
    state: config.state,
    conmonPath: findExecutable(config.conmon.path) ?? config.conmon.path,
    handlers,
    images: imageProvider(opts.images),
    sandboxes: sandboxProvider(opts.sandboxes),
    log,
    cgroupLayout: opts.cgroupLayout,
    pidsLimit: config.containers.pids_limit,
    logSizeMax: config.containers.log_size_max,
  });
  await service.init();
  // StopPodSandbox comes after kubelet stopped the containers gracefully: kill what is left
  // at once, as containerd does.
  // A container removed meanwhile (the supervisor replacing it, a concurrent RemoveContainer)
  // is already stopped and removed: that is success, not an error.
  opts.sandboxes.setContainerHooks({
    stopContainer: (id) => ignoreNotFound(service.stop(id, 0)),
    removeContainer: (id) => ignoreNotFound(service.remove(id)),
  });
  return service;
}
