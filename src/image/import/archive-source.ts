// Local image sources for `keelson image import`: an extracted OCI image layout, or a
// docker-archive (`docker save`) for which a Docker schema 2 manifest is synthesised.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, readFile, stat } from 'node:fs/promises';
import { join, normalize } from 'node:path';
import type { Readable } from 'node:stream';
import { InvalidArgumentError, KeelsonError, NotFoundError } from '../../errors.js';
import type { FetchedManifest, ImageSource } from '../image-source.js';
import { MediaTypes } from '../manifest.js';
import { MAX_JSON_BYTES } from '../registry/registry-client.js';

export interface ArchiveImage {
  /** The manifest or index digest to import. */
  topDigest: string;
  /** Names as given by the archive (normalised references), possibly none. */
  names: string[];
}

function sha256(data: Buffer): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

async function readBounded(path: string, what: string): Promise<Buffer> {
  const st = await stat(path).catch(() => null);
  if (!st?.isFile()) throw new NotFoundError(`${what} is missing from the archive`);
  if (st.size > MAX_JSON_BYTES) throw new KeelsonError('ResourceExhausted', `${what} is ${st.size} bytes, more than ${MAX_JSON_BYTES}`);
  return readFile(path);
}

async function fileDigest(path: string): Promise<{ digest: string; size: number; gzip: boolean }> {
  const hash = createHash('sha256');
  let size = 0;
  let first: Buffer | undefined;
  for await (const chunk of createReadStream(path) as AsyncIterable<Buffer>) {
    first ??= chunk;
    hash.update(chunk);
    size += chunk.length;
  }
  return { digest: `sha256:${hash.digest('hex')}`, size, gzip: first !== undefined && first[0] === 0x1f && first[1] === 0x8b };
}

/** Serves blobs by digest from files; manifests verified and bounded. */
class FileSource implements ImageSource {
  constructor(readonly pathOf: (digest: string) => string, readonly inMemory = new Map<string, Buffer>()) {}

  async fetchManifest(reference: string): Promise<FetchedManifest> {
    const data = this.inMemory.get(reference) ?? (await readBounded(this.pathOf(reference), `manifest ${reference}`));
    if (sha256(data) !== reference) throw new KeelsonError('FailedPrecondition', `manifest ${reference} in the archive does not match its digest`);
    let mediaType = '';
    try {
      const parsed = JSON.parse(data.toString('utf8')) as { mediaType?: unknown };
      mediaType = typeof parsed.mediaType === 'string' ? parsed.mediaType : '';
    } catch {
      // parseManifest reports it
    }
    return { mediaType, digest: reference, data };
  }

  async fetchJsonBlob(digest: string, size: number): Promise<Buffer> {
    const data = this.inMemory.get(digest) ?? (await readBounded(this.pathOf(digest), `blob ${digest}`));
    if (sha256(data) !== digest || data.length !== size) throw new KeelsonError('FailedPrecondition', `blob ${digest} in the archive does not match its digest or size`);
    return data;
  }

  async openBlob(digest: string, offset: number): Promise<Readable> {
    const path = this.pathOf(digest);
    // Opening first turns a missing blob into a clear error instead of a stream error.
    const handle = await open(path, 'r').catch(() => {
      throw new NotFoundError(`blob ${digest} is missing from the archive`);
    });
    return handle.createReadStream({ start: offset, highWaterMark: 256 * 1024 });
  }
}

/** Reads an extracted archive: OCI layout (oci-layout + index.json) or docker-archive (manifest.json). */
export async function openArchive(dir: string, normaliseName: (name: string) => string | undefined): Promise<{ source: ImageSource; images: ArchiveImage[]; format: 'oci' | 'docker' }> {
  const blobPath = (digest: string): string => {
    if (!/^sha256:[a-f0-9]{64}$/.test(digest)) throw new InvalidArgumentError(`archive names a bad digest "${digest}"`);
    return join(dir, 'blobs', 'sha256', digest.slice(7));
  };
  const hasIndex = await stat(join(dir, 'index.json')).then((s) => s.isFile(), () => false);
  if (hasIndex) {
    const index = JSON.parse((await readBounded(join(dir, 'index.json'), 'index.json')).toString('utf8')) as {
      manifests?: Array<{ digest?: string; annotations?: Record<string, string> }>;
    };
    if (!Array.isArray(index.manifests) || index.manifests.length === 0) throw new InvalidArgumentError('index.json of the OCI layout lists no manifests');
    const images = index.manifests.map((m): ArchiveImage => {
      const digest = String(m.digest ?? '');
      blobPath(digest);
      const names = [m.annotations?.['io.containerd.image.name'], m.annotations?.['org.opencontainers.image.ref.name']]
        .map((n) => (n ? normaliseName(n) : undefined)).filter((n): n is string => n !== undefined);
      return { topDigest: digest, names: [...new Set(names)].slice(0, 1) };
    });
    return { source: new FileSource(blobPath), images, format: 'oci' };
  }
  const manifestJson = join(dir, 'manifest.json');
  const entries = JSON.parse((await readBounded(manifestJson, 'manifest.json (neither an OCI layout nor a docker archive)')).toString('utf8')) as Array<{
    Config?: string; RepoTags?: string[] | null; Layers?: string[];
  }>;
  if (!Array.isArray(entries) || entries.length === 0) throw new InvalidArgumentError('manifest.json of the docker archive lists no images');
  const paths = new Map<string, string>();
  const memory = new Map<string, Buffer>();
  const inside = (rel: string | undefined, what: string): string => {
    const clean = normalize(rel ?? '');
    if (clean === '' || clean === '.' || clean.startsWith('..') || clean.startsWith('/')) throw new InvalidArgumentError(`docker archive: ${what} path "${rel}" is not inside the archive`);
    return join(dir, clean);
  };
  const images: ArchiveImage[] = [];
  for (const entry of entries) {
    const config = await readBounded(inside(entry.Config, 'Config'), `config ${entry.Config}`);
    const configDigest = sha256(config);
    memory.set(configDigest, config);
    const layers = [];
    for (const layer of entry.Layers ?? []) {
      const path = inside(layer, 'layer');
      const d = await fileDigest(path);
      paths.set(d.digest, path);
      layers.push({ mediaType: d.gzip ? 'application/vnd.docker.image.rootfs.diff.tar.gzip' : 'application/vnd.docker.image.rootfs.diff.tar', digest: d.digest, size: d.size });
    }
    const manifest = Buffer.from(JSON.stringify({
      schemaVersion: 2, mediaType: MediaTypes.dockerManifest,
      config: { mediaType: MediaTypes.dockerConfig, digest: configDigest, size: config.length }, layers,
    }));
    const manifestDigest = sha256(manifest);
    memory.set(manifestDigest, manifest);
    const names = (entry.RepoTags ?? []).map(normaliseName).filter((n): n is string => n !== undefined);
    images.push({ topDigest: manifestDigest, names });
  }
  const source = new FileSource((digest) => {
    const p = paths.get(digest);
    if (!p) throw new NotFoundError(`blob ${digest} is not in the docker archive`);
    return p;
  }, memory);
  return { source, images, format: 'docker' };
}
