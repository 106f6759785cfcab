// keelson.v1.ImageImport/Import, daemon side (definition in ./definitions.ts), a keelson-only
// gRPC service beside CRI on the same socket, client streaming. The CLI streams an archive's
// bytes; the daemon (which owns the store and its locks) writes them to a temp file under the
// ingest dir and imports the images.
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type * as grpc from '@grpc/grpc-js';
import type { ImageService } from '../image/image-service.js';
import { importArchive } from '../image/import/import-archive.js';
import { toServiceError } from '../cri/grpc-status.js';
import { IMPORT_REPO_HEADER, type ImportAnswer } from './definitions.js';

export { imageImportService } from './definitions.js';

export function imageImportImplementation(images: ImageService): grpc.UntypedServiceImplementation {
  return {
    Import: (call: grpc.ServerReadableStream<Buffer, ImportAnswer>, callback: grpc.sendUnaryData<ImportAnswer>) => {
      const file = join(images.content.ingestDir, `import-${randomBytes(8).toString('hex')}.tar`);
      const repo = call.metadata.get(IMPORT_REPO_HEADER)[0];
      void (async () => {
        let answer: ImportAnswer | undefined;
        let failure: unknown;
        try {
          await pipeline(Readable.from(call), createWriteStream(file, { mode: 0o600 }));
          const imported = await importArchive(images, file, { ...(typeof repo === 'string' && repo !== '' ? { repo } : {}) });
          answer = { images: imported.map((i) => ({ id: i.id, repoTags: i.repoTags })) };
        } catch (err) {
          failure = err;
        }
        // The temp file goes before the answer, so a client sees a clean store.
        await rm(file, { force: true });
        if (answer) callback(null, answer);
        else callback(toServiceError(failure));
      })();
    },
  };
}
