// A keelson-only gRPC service beside CRI on the same socket: keelson.v1.ImageImport/Import,
// client streaming. The CLI streams an archive's bytes; the daemon (which owns the store and
// its locks) writes them to a temp file under the ingest dir and imports the images.
// Messages are raw bytes (request chunks) and JSON (the answer); no .proto is needed.
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import * as grpc from '@grpc/grpc-js';
import type { ImageService } from '../image/image-service.js';
import { importArchive } from '../image/import/import-archive.js';
import { toServiceError } from './grpc-status.js';

export interface ImportAnswer {
  images: Array<{ id: string; repoTags: string[] }>;
}

/** Metadata key carrying the repository for bare tags in an archive (`--name`). */
export const IMPORT_REPO_HEADER = 'keelson-import-repo';

const identity = (b: Buffer): Buffer => b;

export const imageImportService: grpc.ServiceDefinition = {
  Import: {
    path: '/keelson.v1.ImageImport/Import',
    requestStream: true,
    responseStream: false,
    requestSerialize: identity,
    requestDeserialize: identity,
    responseSerialize: (a: ImportAnswer) => Buffer.from(JSON.stringify(a)),
    responseDeserialize: (b: Buffer) => JSON.parse(b.toString('utf8')) as ImportAnswer,
  },
};

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

/** The client side: streams `chunks` to the daemon and returns what it imported. */
export function importImages(socketPath: string, chunks: AsyncIterable<Buffer>, repo?: string): Promise<ImportAnswer> {
  const Client = grpc.makeGenericClientConstructor(imageImportService, 'ImageImport');
  const client = new Client(`unix:${socketPath}`, grpc.credentials.createInsecure());
  const metadata = new grpc.Metadata();
  if (repo) metadata.set(IMPORT_REPO_HEADER, repo);
  return new Promise<ImportAnswer>((resolve, reject) => {
    const stream = (client as unknown as {
      Import(md: grpc.Metadata, cb: (err: grpc.ServiceError | null, res?: ImportAnswer) => void): grpc.ClientWritableStream<Buffer>;
    }).Import(metadata, (err, res) => {
      client.close();
      if (err) reject(err);
      else resolve(res ?? { images: [] });
    });
    void (async () => {
      try {
        for await (const chunk of chunks) {
          if (!stream.write(chunk)) await new Promise((r) => stream.once('drain', r));
        }
        stream.end();
      } catch (err) {
        stream.destroy(err as Error);
        reject(err);
      }
    })();
  });
}
