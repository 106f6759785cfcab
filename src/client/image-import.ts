// The client of keelson.v1.ImageImport (src/keelson-api/image-import.ts): `keelson image import`.
import * as grpc from '@grpc/grpc-js';
import { IMPORT_REPO_HEADER, imageImportService, type ImportAnswer } from '../keelson-api/definitions.js';

export type { ImportAnswer } from '../keelson-api/definitions.js';

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
