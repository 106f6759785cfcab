// Content-addressed blobs under <root>/content/blobs/sha256/<hex>. Downloads land in
// <root>/content/ingest/<hex> and are renamed into place only after the digest and size
// verify. A partial ingest file is kept for a later pull to resume with Range.
import { randomBytes } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { mkdir, open, readdir, rename, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { KeelsonError } from '../errors.js';
import { TransportError } from './registry/http.js';

/** Opens the remote blob at an offset (the registry session's openBlob). */
export type BlobOpener = (offset: number) => Promise<Readable>;

export interface BlobSourceOptions {
  /** Retries of a broken download, each resuming where the last stopped. */
  retries: number;
  retryBaseMs?: number;
  /** Bytes that came from the network (not from a local file), for progress and tests. */
  onNetworkBytes?: (n: number) => void;
  what: string;
}

function hexOf(digest: string): string {
  if (!/^sha256:[a-f0-9]{64}$/.test(digest)) throw new KeelsonError('InvalidArgument', `not a sha256 digest: ${digest}`);
  return digest.slice('sha256:'.length);
}

export class ContentStore {
  readonly blobsDir: string;
  readonly ingestDir: string;

  constructor(readonly root: string) {
    this.blobsDir = join(root, 'content', 'blobs', 'sha256');
    this.ingestDir = join(root, 'content', 'ingest');
  }

  async init(): Promise<void> {
    await mkdir(this.blobsDir, { recursive: true, mode: 0o700 });
    await mkdir(this.ingestDir, { recursive: true, mode: 0o700 });
  }

  blobPath(digest: string): string {
    return join(this.blobsDir, hexOf(digest));
  }

  ingestPath(digest: string): string {
    return join(this.ingestDir, hexOf(digest));
  }

  has(digest: string): boolean {
    return existsSync(this.blobPath(digest));
  }

  /** Stores bytes already verified in memory (manifests, configs). */
  async putVerified(digest: string, data: Buffer): Promise<void> {
    if (this.has(digest)) return;
    const tmp = `${this.ingestPath(digest)}.${randomBytes(6).toString('hex')}.tmp`;
    await writeFile(tmp, data, { mode: 0o600 });
    await rename(tmp, this.blobPath(digest));
  }

  /**
   * The bytes of a blob as one stream: from the store when present, else the partial
   * ingest file (if any) followed by the network from where it ends, resuming with
   * Range after a broken connection. Every network byte is appended to the ingest file.
   * The caller verifies the stream and then calls commit() or discard().
   */
  blobSource(digest: string, size: number, openRemote: BlobOpener, opts: BlobSourceOptions): Readable {
    if (this.has(digest)) return createReadStream(this.blobPath(digest), { highWaterMark: 256 * 1024 });
    return Readable.from(this.#download(digest, size, openRemote, opts), { objectMode: false });
  }

  async *#download(digest: string, size: number, openRemote: BlobOpener, opts: BlobSourceOptions): AsyncGenerator<Buffer> {
    const path = this.ingestPath(digest);
    const handle = await open(path, 'a+', 0o600);
    try {
      let offset = (await handle.stat()).size;
      if (offset > size) {
        await truncate(path, 0);
        offset = 0;
      }
      if (offset > 0) {
        for await (const chunk of createReadStream(path, { start: 0, end: offset - 1, highWaterMark: 256 * 1024 })) {
          yield chunk as Buffer;
        }
      }
      let failures = 0;
      while (offset < size) {
        try {
          const body = await openRemote(offset);
          for await (const chunk of body as AsyncIterable<Buffer>) {
            if (offset + chunk.length > size) {
              throw new KeelsonError('FailedPrecondition', `${opts.what}: registry sent more than the ${size} bytes the descriptor says`);
            }
            await handle.write(chunk);
            offset += chunk.length;
            opts.onNetworkBytes?.(chunk.length);
            yield chunk;
          }
          if (offset < size) {
            // A whole answer that still falls short is the registry's blob, not a cut line:
            // no Range can fetch bytes the registry does not have.
            if ((body as Readable & { complete?: boolean }).complete === true) {
              throw new KeelsonError('FailedPrecondition', `${opts.what}: the registry's blob ended at ${offset} of the ${size} bytes its descriptor says`);
            }
            throw new TransportError(`${opts.what}: download ended at ${offset} of ${size} bytes`);
          }
        } catch (err) {
          const broken = err instanceof TransportError || isConnectionError(err);
          if (!broken || failures >= opts.retries) throw err;
          failures++;
          await new Promise((r) => setTimeout(r, (opts.retryBaseMs ?? 200) * 2 ** (failures - 1)));
        }
      }
    } finally {
      await handle.close();
    }
  }

  /** Makes a verified ingest visible under its digest. */
  async commit(digest: string): Promise<void> {
    if (this.has(digest)) {
      await rm(this.ingestPath(digest), { force: true });
      return;
    }
    await rename(this.ingestPath(digest), this.blobPath(digest));
  }

  /** Drops an ingest whose bytes did not verify. */
  async discard(digest: string): Promise<void> {
    await rm(this.ingestPath(digest), { force: true });
  }

  async remove(digest: string): Promise<void> {
    await rm(this.blobPath(digest), { force: true });
  }

  /** When a blob was stored (its mtime), or null when absent. */
  async storedAt(digest: string): Promise<number | null> {
    const st = await stat(this.blobPath(digest)).catch(() => null);
    return st ? st.mtimeMs : null;
  }

  async list(): Promise<string[]> {
    const names = await readdir(this.blobsDir).catch(() => [] as string[]);
    return names.filter((n) => /^[a-f0-9]{64}$/.test(n)).map((n) => `sha256:${n}`);
  }

  /** Removes ingest files older than maxAgeMs and every stray temp file; returns what it removed. */
  async cleanIngest(maxAgeMs: number): Promise<string[]> {
    const removed: string[] = [];
    for (const name of await readdir(this.ingestDir).catch(() => [] as string[])) {
      const path = join(this.ingestDir, name);
      const st = await stat(path).catch(() => null);
      if (!st) continue;
      if (!/^[a-f0-9]{64}$/.test(name) || Date.now() - st.mtimeMs > maxAgeMs) {
        await rm(path, { recursive: true, force: true }).catch(() => undefined);
        removed.push(name);
      }
    }
    return removed;
  }

  /** Bytes and files of the content store. */
  async usage(): Promise<{ bytes: number; inodes: number }> {
    let bytes = 0;
    let inodes = 0;
    for (const dir of [this.blobsDir, this.ingestDir]) {
      for (const name of await readdir(dir).catch(() => [] as string[])) {
        const st = await stat(join(dir, name)).catch(() => null);
        if (!st) continue;
        bytes += st.blocks * 512;
        inodes++;
      }
    }
    return { bytes, inodes };
  }
}

function isConnectionError(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ECONNRESET' || code === 'EPIPE' || code === 'ETIMEDOUT' || code === 'ECONNREFUSED' || code === 'ERR_STREAM_PREMATURE_CLOSE';
}
