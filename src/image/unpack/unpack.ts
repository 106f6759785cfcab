// One streaming pass per layer: blob bytes -> sha256 (blob digest) -> decompress ->
// sha256 (diff id) -> untar into the layer's directory. Nothing is trusted until the
// pass ends: the caller makes the directory visible only when this resolves.
import { createHash } from 'node:crypto';
import { PassThrough, Transform, type Duplex, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import tar from 'tar-stream';
import { KeelsonError } from '../../errors.js';
import type { LayerCompression } from '../manifest.js';
import { HostileArchiveError, LayerWriter, type TarHeader, type UnpackLimits } from './tar-entries.js';
import type { PullBudget } from './budget.js';
import type { LowerView } from './lower-view.js';
import { TarEndCompleter } from './tar-end.js';
import { zstdDecompressor } from './zstd.js';

export interface LayerLimits extends UnpackLimits {
  /** Uncompressed bytes per compressed byte (past the first MiB): a bomb guard. */
  maxCompressionRatio: number;
  /** File bytes one pull may write across its layers. */
  maxPullBytes?: number;
}

export interface UnpackRequest {
  source: Readable;
  compression: LayerCompression;
  dir: string;
  digest: string;
  size: number;
  diffId: string;
  limits: LayerLimits;
  /** Names the layer in errors, e.g. "layer sha256:... of 127.0.0.1:5000/app". */
  what: string;
  onBytes?: (blobBytes: number) => void;
  /** The layers below, when they must be consulted while writing (see lower-view.ts). */
  lower?: LowerView;
  /** File bytes the whole pull may still write (shared by its layers). */
  budget?: PullBudget;
}

export interface UnpackResult {
  /** Bytes of regular files written. */
  bytes: number;
  entries: number;
  /** Directories created as parents of entries, relative to the layer dir, in creation order. */
  implicitDirs: string[];
  /** Directories that had an entry of their own. */
  explicitDirs: ReadonlySet<string>;
}

/** A digest, size or diff id that does not match what the manifest or config promised. */
export class DigestMismatchError extends KeelsonError {
  constructor(message: string) {
    super('FailedPrecondition', message);
    this.name = 'DigestMismatchError';
  }
}

function decompressor(c: LayerCompression, what: string): Duplex {
  if (c === 'gzip') return createGunzip({ chunkSize: 256 * 1024 });
  if (c === 'zstd') return zstdDecompressor(what);
  return new PassThrough();
}

export async function unpackLayer(req: UnpackRequest): Promise<UnpackResult> {
  const blobHash = createHash('sha256');
  const tarHash = createHash('sha256');
  let blobBytes = 0;
  let tarBytes = 0;
  const countBlob = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      blobBytes += chunk.length;
      if (blobBytes > req.size) {
        cb(new DigestMismatchError(`${req.what}: blob is larger than the ${req.size} bytes its descriptor says`));
        return;
      }
      blobHash.update(chunk);
      req.onBytes?.(blobBytes);
      cb(null, chunk);
    },
  });
  const limit = req.limits;
  const countTar = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      tarBytes += chunk.length;
      if (tarBytes > limit.maxCompressionRatio * blobBytes + 1024 * 1024) {
        cb(new HostileArchiveError(`${req.what}: decompresses to more than ${limit.maxCompressionRatio} times its size (compression bomb?)`));
        return;
      }
      // Headers and padding count too, so a tar of empty entries cannot grow without bound.
      if (tarBytes > limit.maxLayerBytes + limit.maxEntries * 1024 + 1024 * 1024) {
        cb(new HostileArchiveError(`${req.what}: uncompressed tar is larger than the layer limit`));
        return;
      }
      tarHash.update(chunk);
      cb(null, chunk);
    },
  });
  const extract = tar.extract();
  const writer = new LayerWriter(req.dir, req.limits, req.what, req.lower ?? null, req.budget ?? null);
  // The diff id is hashed before the end completer, over the layer's own bytes.
  const piping = pipeline(req.source, countBlob, decompressor(req.compression, req.what), countTar, new TarEndCompleter(req.what), extract);
  // Avoid an unhandled rejection while the consumer below is still running.
  piping.catch(() => undefined);
  try {
    for await (const entry of extract) {
      await writer.apply(entry.header as TarHeader, entry as unknown as Readable);
    }
  } catch (err) {
    extract.destroy();
    req.source.destroy();
    await piping.catch(() => undefined);
    throw err;
  }
  await piping;
  const digest = `sha256:${blobHash.digest('hex')}`;
  if (blobBytes !== req.size || digest !== req.digest) {
    throw new DigestMismatchError(`${req.what}: digest mismatch: expected ${req.digest} (${req.size} bytes), got ${digest} (${blobBytes} bytes)`);
  }
  const diffId = `sha256:${tarHash.digest('hex')}`;
  if (diffId !== req.diffId) {
    throw new DigestMismatchError(`${req.what}: diff id mismatch: the image config says ${req.diffId}, the uncompressed layer is ${diffId}`);
  }
  await writer.finish();
  return { bytes: writer.bytes, entries: writer.entries, implicitDirs: writer.implicitDirs, explicitDirs: writer.explicitDirs };
}
