// The end-of-archive completer: a layer that stops right after an entry's data (umoci 0.4.7
// `insert`) or inside padding is accepted; one that stops inside a header or inside an
// entry's declared data is refused, naming where.
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import tar from 'tar-stream';
import { describe, expect, it } from 'vitest';
import { TarEndCompleter } from '../../../src/image/unpack/tar-end.js';

async function pack(entries: Array<{ name: string; size: number; pax?: Record<string, string> }>): Promise<Buffer> {
  const p = tar.pack();
  for (const e of entries) p.entry({ name: e.name, size: e.size, ...(e.pax ? { pax: e.pax } : {}) } as tar.Header, Buffer.alloc(e.size, 97));
  p.finalize();
  const chunks: Buffer[] = [];
  for await (const c of p) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** Extracts with the completer in front; returns entry names and sizes read. */
async function extract(bytes: Buffer): Promise<Array<[string, number]>> {
  const ex = tar.extract();
  const piping = pipeline(Readable.from([bytes]), new TarEndCompleter('layer L'), ex);
  piping.catch(() => undefined);
  const out: Array<[string, number]> = [];
  for await (const entry of ex) {
    let n = 0;
    for await (const c of entry) n += (c as Buffer).length;
    out.push([entry.header.name, n]);
  }
  await piping;
  return out;
}

describe('TarEndCompleter', () => {
  const entries = [{ name: 'd/', size: 0 }, { name: 'd/a.txt', size: 700 }];
  // header d/ (512) + header a.txt (512) + 700 data + 324 padding + 1024 end blocks
  it('passes a complete archive through unchanged', async () => {
    const full = await pack(entries);
    expect(full.length).toBe(512 + 512 + 1024 + 1024);
    expect(await extract(full)).toEqual([['d/', 0], ['d/a.txt', 700]]);
  });

  it('accepts an archive that ends right after the last entry data (no padding, no end blocks)', async () => {
    const full = await pack(entries);
    expect(await extract(full.subarray(0, 512 + 512 + 700))).toEqual([['d/', 0], ['d/a.txt', 700]]);
  });

  it('accepts an archive that ends inside padding or after one end block', async () => {
    const full = await pack(entries);
    expect(await extract(full.subarray(0, 512 + 512 + 800))).toEqual([['d/', 0], ['d/a.txt', 700]]);
    expect(await extract(full.subarray(0, 512 + 512 + 1024 + 512))).toEqual([['d/', 0], ['d/a.txt', 700]]);
  });

  it('refuses an archive that ends inside an entry data, naming the entry and the count', async () => {
    const full = await pack(entries);
    await expect(extract(full.subarray(0, 512 + 512 + 600))).rejects.toThrow('ends inside the data of "d/a.txt" (600 of 700 bytes)');
  });

  it('refuses an archive that ends inside a header', async () => {
    const full = await pack(entries);
    await expect(extract(full.subarray(0, 512 + 100))).rejects.toThrow('ends inside a tar header (100 of 512 bytes)');
  });

  it('follows pax headers (long names) to the real entry size', async () => {
    const name = `${'x'.repeat(150)}/y.txt`;
    const full = await pack([{ name, size: 1000, pax: { comment: 'c' } }]);
    const end = full.length - 1024 - 24; // the data ends 24 bytes before its 512 boundary
    expect(await extract(full.subarray(0, end))).toEqual([[name, 1000]]);
    await expect(extract(full.subarray(0, end - 10))).rejects.toThrow(`ends inside the data of "${name}" (990 of 1000 bytes)`);
  });
});
