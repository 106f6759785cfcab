// Removing big trees (a layer of 100k files) without holding them in the daemon: the tree is
// renamed out of the way first (atomic, by the caller), then `rm -rf` (coreutils, one
// directory at a time, a few hundred KiB of memory) deletes it in the background. A daemon
// killed meanwhile leaves a `tmp-` dir, which the next start removes the same way.

import { spawn } from 'node:child_process';
import type { Logger } from '../logger.js';

export class TreeRemover {
  readonly #running = new Set<Promise<void>>();

  constructor(readonly log: Logger | null = null) {}

  /** Starts removing path; never throws (a failure is logged and retried at the next start). */
  removeInBackground(path: string): void {
    const done = new Promise<void>((resolve) => {
      const child = spawn('rm', ['-rf', '--one-file-system', '--', path], { stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => { if (stderr.length < 4096) stderr += d.toString(); });
      child.on('error', (err) => {
        this.log?.warn({ path, err: err.message }, 'could not start rm for a removed tree');
        resolve();
      });
      child.on('close', (code) => {
        if (code !== 0) this.log?.warn({ path, code, stderr: stderr.trim() }, 'rm of a removed tree failed; the next start retries');
        resolve();
      });
    });
    this.#running.add(done);
    void done.finally(() => this.#running.delete(done));
  }

  /** Waits for removals in flight (tests, and a clean shutdown). */
  async drain(): Promise<void> {
    while (this.#running.size > 0) await Promise.all([...this.#running]);
  }
}
