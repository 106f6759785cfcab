// Builds the container service over the real image and sandbox services: two small adapters
// turn them into the providers src/container/dependencies.ts asks for.
import type { CgroupLayout } from '../cgroup/detect.js';
import type { Config } from '../config/schema.js';
import type { ImageProvider, PidMode, SandboxProvider, SandboxView } from '../container/dependencies.js';
import { ContainerService } from '../container/service.js';
import type { ImageService } from '../image/image-service.js';
import type { Logger } from '../logger.js';
import type { SandboxService } from '../sandbox/service.js';
import type { SandboxRecord } from '../sandbox/types.js';
import type { RuntimeRegistry } from '../runtime/registry.js';
import type { Db } from '../store/database.js';

function imageProvider(images: ImageService): ImageProvider {
  return {
    resolve(ref) {
      const record = images.resolve(ref);
      if (!record) return null;
      return { id: record.id, ref: record.repoDigests[0] ?? record.repoTags[0], config: record.config.config ?? {} };
    },
    prepareRootfs: (containerId, imageId) => images.prepareContainerRootfs(containerId, imageId),
    mountImageVolume: (containerId, index, imageId) => images.mountImageVolume(containerId, index, imageId),
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
    hostname: record.hostname,
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
  };
}

export async function startContainerService(opts: {
  config: Config;
  db: Db;
  log: Logger;
  cgroupLayout: CgroupLayout;
  runtimes: RuntimeRegistry;
  images: ImageService;
  sandboxes: SandboxService;
}): Promise<ContainerService> {
  const { config, log } = opts;
  const service = new ContainerService({
    db: opts.db,
    root: config.root,
    state: config.state,
    runtimes: opts.runtimes,
    images: imageProvider(opts.images),
    sandboxes: sandboxProvider(opts.sandboxes),
    log,
    cgroupLayout: opts.cgroupLayout,
    pidsLimit: config.containers.pids_limit,
    logSizeMax: config.containers.log_size_max,
    cdiSpecDirs: config.cdi.spec_dirs,
  });
  await service.init();
  return service;
}
