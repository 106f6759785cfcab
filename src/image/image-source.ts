// Where a pull reads from: a registry session, or a local archive being imported.
import type { Readable } from 'node:stream';

export interface FetchedManifest {
  mediaType: string;
  digest: string;
  data: Buffer;
}

export interface ImageSource {
  /** A manifest or index by tag or digest, its digest verified when asked by digest. */
  fetchManifest(reference: string): Promise<FetchedManifest>;
  /** A small JSON blob (the image config), bounded and verified. */
  fetchJsonBlob(digest: string, size: number): Promise<Buffer>;
  /** A blob's bytes from `offset` on (verified by the caller as they stream). */
  openBlob(digest: string, offset: number): Promise<Readable>;
}
