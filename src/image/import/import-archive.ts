// `keelson image import`: the daemon receives an archive (a tar of an OCI layout, or a
// docker-archive), extracts it under the ingest dir with the same hostile-archive rules as
// layers, and imports each image through the verified pull path.
import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import tar from 'tar-stream';
import type { ImageRecord } from '../image-store.js';
import type { ImageService } from '../image-service.js';
import { formatReference, parseReference } from '../reference.js';
import { LayerWriter, type TarHeader } from '../unpack/tar-entries.js';
import { openArchive } from './archive-source.js';

/** A full reference for a name in an archive; a bare tag ("latest") needs `repo`. */
function normaliser(repo: string | undefined): (name: string) => string | undefined {
  return (name) => {
    try {
      if (!name.includes('/') && !name.includes(':') && !name.includes('@')) {
        return repo ? formatReference(parseReference(`${repo}:${name}`)) : undefined;
      }
      return formatReference(parseReference(name));
    } catch {
      return undefined;
    }
  };
}

export async function importArchive(images: ImageService, archive: string, opts: { repo?: string }): Promise<ImageRecord[]> {
  const dir = join(images.content.ingestDir, `import-${randomBytes(8).toString('hex')}`);
  await mkdir(dir, { mode: 0o700 });
  try {
    const limits = images.opts.limits;
    const writer = new LayerWriter(dir, { maxEntries: limits.maxEntries, maxLayerBytes: limits.maxLayerBytes * 16 }, `archive ${archive}`);
    const extract = tar.extract();
    const piping = pipeline(createReadStream(archive), extract);
    piping.catch(() => undefined);
    try {
      for await (const entry of extract) await writer.apply(entry.header as TarHeader, entry as unknown as Readable);
    } catch (err) {
      extract.destroy();
      await piping.catch(() => undefined);
      throw err;
    }
    await piping;
    const { source, images: found } = await openArchive(dir, normaliser(opts.repo));
    const imported: ImageRecord[] = [];
    for (const image of found) {
      imported.push(await images.importFrom(source, image.topDigest, image.names, `archive ${archive} image ${image.topDigest}`));
    }
    return imported;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
