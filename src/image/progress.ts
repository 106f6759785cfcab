// Pull progress as a side channel for the CLI: the daemon rewrites a small JSON file per
// pull under <state>/pulls/, named by the sha256 of the image string as requested, and the
// CLI polls it while its PullImage call is pending. Files go away when the pull ends.
import { createHash } from 'node:crypto';
import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export type LayerState = 'waiting' | 'downloading' | 'unpacking' | 'done' | 'exists' | 'failed';

export interface LayerProgress {
  digest: string;
  size: number;
  /** Bytes of the blob processed so far (local resume bytes included). */
  done: number;
  state: LayerState;
}

export interface PullProgress {
  image: string;
  updatedAt: number;
  layers: LayerProgress[];
  finished: boolean;
  error?: string;
}

export function progressFile(dir: string, image: string): string {
  return join(dir, `${createHash('sha256').update(image).digest('hex')}.json`);
}

/** Rewrites the progress file at most every `intervalMs`, atomically. */
export class ProgressWriter {
  readonly #file: string;
  #timer: NodeJS.Timeout | undefined;
  readonly progress: PullProgress;

  constructor(readonly dir: string | undefined, image: string, readonly intervalMs = 200) {
    this.#file = dir ? progressFile(dir, image) : '';
    this.progress = { image, updatedAt: Date.now(), layers: [], finished: false };
    if (dir) mkdirSync(dir, { recursive: true, mode: 0o700 });
  }

  layer(digest: string, size: number): LayerProgress {
    const existing = this.progress.layers.find((l) => l.digest === digest);
    if (existing) return existing;
    const l: LayerProgress = { digest, size, done: 0, state: 'waiting' };
    this.progress.layers.push(l);
    this.touch();
    return l;
  }

  touch(): void {
    if (!this.dir || this.#timer) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#write();
    }, this.intervalMs);
  }

  #write(): void {
    this.progress.updatedAt = Date.now();
    const tmp = `${this.#file}.tmp`;
    try {
      writeFileSync(tmp, JSON.stringify(this.progress));
      renameSync(tmp, this.#file);
    } catch {
      // Progress is best effort; the pull itself goes on.
    }
  }

  /** Writes the final state, then removes the file after a moment so a polling CLI sees it. */
  end(error?: string): void {
    if (!this.dir) return;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.progress.finished = true;
    if (error !== undefined) this.progress.error = error;
    this.#write();
    setTimeout(() => rmSync(this.#file, { force: true }), 2000).unref();
  }
}
