// SPDY/3 header blocks: u32 count, then (u32 length, name, u32 length, value) pairs, names
// lowercase, several values of one name joined by NUL; compressed with zlib primed with the
// SPDY/3 dictionary, one compression context per direction for the whole connection.
import { constants, createDeflate, createInflate, type Deflate, type Inflate } from 'node:zlib';
import { SPDY3_DICTIONARY } from './dictionary.js';
import { SpdyProtocolError } from './frames.js';

export type Headers = Record<string, string[]>;

/** Bound on one decompressed header block, and on the pairs it may hold. */
export const MAX_HEADER_BLOCK_BYTES = 64 * 1024;
const MAX_HEADER_PAIRS = 256;

export function encodeHeaderBlock(headers: Headers): Buffer {
  const parts: Buffer[] = [];
  const entries = Object.entries(headers);
  const count = Buffer.alloc(4);
  count.writeUInt32BE(entries.length);
  parts.push(count);
  for (const [name, values] of entries) {
    for (const text of [name.toLowerCase(), values.join('\0')]) {
      const bytes = Buffer.from(text, 'utf8');
      const len = Buffer.alloc(4);
      len.writeUInt32BE(bytes.length);
      parts.push(len, bytes);
    }
  }
  return Buffer.concat(parts);
}

export function decodeHeaderBlock(block: Buffer): Headers {
  let offset = 0;
  const read = (): Buffer => {
    if (offset + 4 > block.length) throw new SpdyProtocolError('header block truncated');
    const len = block.readUInt32BE(offset);
    offset += 4;
    if (offset + len > block.length) throw new SpdyProtocolError('header block truncated');
    const out = block.subarray(offset, offset + len);
    offset += len;
    return out;
  };
  if (block.length < 4) throw new SpdyProtocolError('header block truncated');
  const count = block.readUInt32BE(0);
  offset = 4;
  if (count > MAX_HEADER_PAIRS) throw new SpdyProtocolError(`header block has ${count} pairs (limit ${MAX_HEADER_PAIRS})`);
  const headers: Headers = {};
  for (let i = 0; i < count; i++) {
    const name = read().toString('utf8');
    const value = read().toString('utf8');
    if (name.length === 0) throw new SpdyProtocolError('empty header name');
    if (name !== name.toLowerCase()) throw new SpdyProtocolError(`header name "${name}" is not lowercase`);
    (headers[name] ??= []).push(...value.split('\0'));
  }
  return headers;
}

/** Runs zlib operations one after another: a shared context needs them in frame order. */
class Serial {
  private tail: Promise<unknown> = Promise.resolve();
  run<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.tail.then(fn, fn);
    this.tail = next.catch(() => undefined);
    return next;
  }
}

function flushThrough(stream: Deflate | Inflate, input: Buffer, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let failed = false;
    const onData = (d: Buffer): void => {
      size += d.length;
      if (size > limit && !failed) {
        failed = true;
        reject(new SpdyProtocolError(`header block over ${limit} bytes`));
      }
      chunks.push(d);
    };
    const onError = (err: Error): void => { if (!failed) { failed = true; reject(new SpdyProtocolError(`header block: ${err.message}`)); } };
    stream.on('data', onData);
    stream.once('error', onError);
    stream.write(input);
    stream.flush(constants.Z_SYNC_FLUSH, () => {
      stream.off('data', onData);
      stream.off('error', onError);
      if (!failed) resolve(Buffer.concat(chunks));
    });
  });
}

export class HeaderCompressor {
  private readonly deflate = createDeflate({ dictionary: SPDY3_DICTIONARY });
  private readonly serial = new Serial();
  compress(headers: Headers): Promise<Buffer> {
    const block = encodeHeaderBlock(headers);
    return this.serial.run(() => flushThrough(this.deflate, block, Number.MAX_SAFE_INTEGER));
  }
  close(): void { this.deflate.close(); }
}

export class HeaderDecompressor {
  private readonly inflate = createInflate({ dictionary: SPDY3_DICTIONARY });
  private readonly serial = new Serial();
  decompress(compressed: Buffer): Promise<Headers> {
    return this.serial.run(async () => decodeHeaderBlock(await flushThrough(this.inflate, compressed, MAX_HEADER_BLOCK_BYTES)));
  }
  close(): void { this.inflate.close(); }
}
