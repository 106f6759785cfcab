// Bounds on what a pull may write, that no compression ratio can slip under: a budget of
// file bytes for all layers of one pull together, and a floor of free space on the image
// filesystem, checked against each file's declared size before it is written.

import { statfsSync } from 'node:fs';
import { KeelsonError } from '../../errors.js';

/** File bytes one pull may unpack to, across its layers (they unpack in parallel). */
export class PullBudget {
  used = 0;

  constructor(readonly maxBytes: number) {}

  take(bytes: number, what: string): void {
    this.used += bytes;
    if (this.used > this.maxBytes) {
      throw new KeelsonError('ResourceExhausted', `${what}: the image unpacks to more than image.max_pull_bytes (${this.maxBytes} bytes) in all`);
    }
  }
}

/** Bytes written between two free-space checks when files are small. */
const CHECK_EVERY_BYTES = 64 * 1024 * 1024;
/** Files at least this big are checked one by one. */
const BIG_FILE_BYTES = 1024 * 1024;

/** Keeps `floorBytes` free on the filesystem of `dir` while a layer is written there. */
export class FreeSpaceFloor {
  #sinceCheck = 0;

  constructor(readonly dir: string, readonly floorBytes: number) {}

  /** Before writing a file of `bytes`: throws when the filesystem would drop below the floor. */
  reserve(bytes: number, what: string): void {
    if (this.floorBytes <= 0) return;
    this.#sinceCheck += bytes;
    if (bytes < BIG_FILE_BYTES && this.#sinceCheck < CHECK_EVERY_BYTES) return;
    this.#sinceCheck = 0;
    const st = statfsSync(this.dir);
    const free = st.bavail * st.bsize;
    if (free - bytes < this.floorBytes) {
      throw new KeelsonError('ResourceExhausted',
        `${what}: writing ${bytes} more bytes would leave ${Math.max(0, free - bytes)} free on the image filesystem, below image.min_free_bytes (${this.floorBytes})`);
    }
  }
}
