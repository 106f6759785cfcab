import { unlinkSync } from 'node:fs';
import { mkdir, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { chooseCgroupDriver, probeCgroupHost } from '../cgroup/detect.js';
import type { Config } from '../config/schema.js';
import { criHandlers } from '../cri/handlers.js';
import { CriServer } from '../cri/server.js';
import type { Logger } from '../logger.js';
import { KEELSON_VERSION } from '../version.js';
import { lockAll, type HeldLocks } from './locks.js';
import { nodeInfo } from './node-info.js';
import { openDatabase, type Db } from '../store/database.js';
import { prepareSocketPath } from './socket-path.js';
import { startSandboxService } from './sandbox-wiring.js';
import { createImageService } from './image-wiring.js';
import { startContainerService } from './container-wiring.js';
import { imageImportImplementation, imageImportService } from '../keelson-api/image-import.js';
import { Supervisor } from '../supervisor/supervisor.js';
import { supervisorImplementation, supervisorService } from '../keelson-api/supervisor-status.js';
import { startStreamServer } from './stream-wiring.js';
import { CsiService } from '../csi/service.js';
import { PodService } from '../pod/service.js';
import { runtimeRegistryFromConfig } from '../runtime/registry.js';
import { Criu } from '../runtime/criu.js';
import { Checkpointer } from '../container/checkpoint.js';
import { volumesImplementation, volumesService } from '../keelson-api/volumes.js';
import { imagesImplementation, imagesService } from '../keelson-api/images.js';

export interface RunningDaemon {
  /** Stops serving, lets calls in flight finish, removes the socket and releases the locks. */
  stop(): Promise<void>;
  /**
   * The fast way out (a second SIGTERM): no waiting for calls in flight, but the socket is
   * removed and the database closed (its WAL checkpointed), so the next start finds both clean.
   */
  abort(): void;
}

/** Starts the daemon: state dirs, locks, services, then the CRI socket last. */
export async function startDaemon(config: Config, log: Logger): Promise<RunningDaemon> {
  // State dirs are 0700: container roots under them must not be reachable by other users.
  await mkdir(config.root, { recursive: true, mode: 0o700 });
  await mkdir(config.state, { recursive: true, mode: 0o700 });
  await mkdir(dirname(config.socket), { recursive: true, mode: 0o755 });
  const locks: HeldLocks = lockAll([
    { what: `root dir ${config.root}`, lockPath: join(config.root, 'keelson.lock') },
    { what: `state dir ${config.state}`, lockPath: join(config.state, 'keelson.lock') },
    { what: `socket ${config.socket}`, lockPath: `${config.socket}.lock` },
  ]);
  let db: Db | undefined;
  let csi: CsiService | undefined;
  try {
    db = openDatabase(join(config.root, 'keelson.db'));
    const cgroupHost = probeCgroupHost();
    const cgroupDriver = chooseCgroupDriver(config.cgroup_driver, cgroupHost);
    const runtimes = runtimeRegistryFromConfig(config, log);
    await runtimes.init();
    const { cni, sandboxes } = await startSandboxService(config, db, cgroupDriver, runtimes, log);
    const node = nodeInfo(config, cgroupDriver, cgroupHost, cni, runtimes);
    const images = await createImageService(config, db, log);
    const containers = await startContainerService({ config, db, log, cgroupLayout: cgroupHost.layout, runtimes, images, sandboxes });

    csi = new CsiService({ db, settings: config.csi, root: config.root, state: config.state, log,
      podExists: (uid) => sandboxes.list().some((s) => s.metadata.uid === uid) });
    await csi.start();
    const csiService = csi;
    const pods = new PodService({ sandboxes, containers, beforeRemove: (record) => csiService.nodeVolumes.unpublishPod(record.metadata.uid) });
    const supervisor = new Supervisor({ db, sandboxes, containers, pods, images, log, backoffBaseMs: config.supervisor.backoff_base_ms,
      backoffMaxMs: config.supervisor.backoff_max_ms, tickMs: config.supervisor.tick_ms });
    const checkpoint = new Checkpointer({ root: config.root, containers, sandboxes, runtimes, criu: new Criu(config.criu.path), log });
    const stream = await startStreamServer(config, containers, sandboxes, runtimes.scratchDir, log);

    await prepareSocketPath(config.socket);
    const server = new CriServer({ socketPath: config.socket, ...criHandlers({ node, pods, images, stream, checkpoint }), log,
      extraServices: [{ definition: imageImportService, implementation: imageImportImplementation(images) },
        { definition: supervisorService, implementation: supervisorImplementation(supervisor) },
        { definition: volumesService, implementation: volumesImplementation(csi) },
        { definition: imagesService, implementation: imagesImplementation({ images, containers, sandboxes }) }] });
    await server.listen();
    supervisor.start();
    log.info(
      { version: KEELSON_VERSION, socket: config.socket, root: config.root, state: config.state, cgroupDriver },
      'keelson is serving CRI',
    );
    return {
      async stop() {
        supervisor.close();
        await server.close();
        await stream.close();
        containers.close();
        await csiService.close();
        await unlink(config.socket).catch(() => undefined);
        db?.close();
        locks.release();
        log.info('keelson stopped');
      },
      abort() {
        supervisor.close();
        containers.close();
        try {
          unlinkSync(config.socket);
        } catch {
          // already gone
        }
        try {
          db?.close();
        } catch (err) {
          log.warn({ err }, 'closing the database on the fast exit failed');
        }
        locks.release();
        log.info('keelson stopped at once');
      },
    };
  } catch (err) {
    await csi?.close();
    db?.close();
    locks.release();
    throw err;
  }
}
