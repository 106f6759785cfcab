// Builds the image service from the config (kept apart from daemon.ts so that file stays small).
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Config } from '../config/schema.js';
import { ImageService } from '../image/image-service.js';
import type { Logger } from '../logger.js';
import type { Db } from '../store/database.js';

/** Where pull progress files go, for `keelson pull` (see src/image/progress.ts). */
export function pullProgressDir(state: string): string {
  return join(state, 'pulls');
}

export async function createImageService(config: Config, db: Db, log: Logger): Promise<ImageService> {
  const s = config.image;
  // No pull is in flight at start: progress files there were left by a daemon that stopped mid-pull.
  await rm(pullProgressDir(config.state), { recursive: true, force: true });
  const images = new ImageService({
    root: config.root,
    db,
    log,
    unpackConcurrency: s.unpack_concurrency,
    ingestMaxAgeMs: s.ingest_max_age_seconds * 1000,
    progressDir: pullProgressDir(config.state),
    limits: {
      maxLayerBytes: s.max_layer_bytes, maxEntries: s.max_layer_entries, maxCompressionRatio: s.max_compression_ratio,
      maxPullBytes: s.max_pull_bytes, minFreeBytes: s.min_free_bytes,
    },
    registry: {
      registries: s.registries,
      authFile: s.auth_file,
      connectTimeoutMs: s.connect_timeout_seconds * 1000,
      idleTimeoutMs: s.idle_timeout_seconds * 1000,
      retries: s.retries,
    },
  });
  await images.init();
  return images;
}
