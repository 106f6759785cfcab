import { join } from 'node:path';
import type { CgroupDriver } from '../cgroup/detect.js';
import { readCgroupMounts } from '../cgroup/hierarchy.js';
import { CniNetwork } from '../cni/network.js';
import type { Config } from '../config/schema.js';
import type { Logger } from '../logger.js';
import { SandboxLayout } from '../sandbox/layout.js';
import { reconcileSandboxes } from '../sandbox/reconcile.js';
import { SandboxService } from '../sandbox/service.js';
import { SandboxStore } from '../sandbox/store.js';
import type { Db } from '../store/database.js';
import { findExecutable } from '../runtime/find-executable.js';
import { PodInfra } from '../sandbox/infra.js';
import type { RuntimeRegistry } from '../runtime/registry.js';

/** The infra runner, when conmon and the infra binary are here (else pid mode POD is UNIMPLEMENTED). */
function podInfra(config: Config, runtimes: RuntimeRegistry, log: Logger): PodInfra | undefined {
  const conmonPath = findExecutable(config.conmon.path);
  const catatoninPath = findExecutable(config.sandbox.infra_binary);
  if (!conmonPath || !catatoninPath) {
    log.warn({ conmon: conmonPath, infra: catatoninPath }, 'no conmon or infra binary: pods cannot share a PID namespace');
    return undefined;
  }
  return new PodInfra({ runtimes, catatoninPath });
}

/** The CNI network and the sandbox service, reconciled with the disk before serving. */
export async function startSandboxService(config: Config, db: Db, cgroupDriver: CgroupDriver, runtimes: RuntimeRegistry,
  log: Logger): Promise<{ cni: CniNetwork; sandboxes: SandboxService }> {
  const cni = new CniNetwork({
    confDir: config.cni.conf_dir,
    binDirs: config.cni.bin_dirs,
    // Under root, not state: after a reboot the cache still lets DEL release host-local's IPs.
    cacheDir: join(config.root, 'cni-cache'),
    timeoutMs: config.cni.plugin_timeout_ms,
  });
  const store = new SandboxStore(db);
  const infra = podInfra(config, runtimes, log);
  const sandboxes = new SandboxService({
    root: config.root,
    state: config.state,
    store,
    cni,
    cgroupDriver,
    cgroupMounts: readCgroupMounts(),
    defaultHandler: config.runtime.default_handler,
    // The registry's handlers: a configured one whose binary is missing is refused up front.
    handlers: () => runtimes.names(),
    shmSizeBytes: config.sandbox.shm_size_bytes,
    commandTimeoutMs: 10_000,
    log,
    infra,
  });
  await reconcileSandboxes({ store, layout: new SandboxLayout(config.root, config.state), cni, log, infra });
  return { cni, sandboxes };
}
