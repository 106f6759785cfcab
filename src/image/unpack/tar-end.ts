// Some writers (umoci 0.4.7 `insert`) end a layer right after the last entry's data: no
// padding to 512 bytes, no end-of-archive blocks. Go's archive/tar, and so containerd,
// accept that; tar-stream (like GNU tar) calls it "Unexpected end of data". This pass
// follows the tar framing (headers, sizes, pax size overrides) without buffering, and at the
// end of input supplies the missing padding and end blocks only when the stream stopped on
// an entry boundary or inside padding. A stream that stops inside a header or inside an
// entry's declared data is still an error, naming where it stopped.

import { Transform, type TransformCallback } from 'node:stream';

const BLOCK = 512;

/** The size field: octal text, or GNU base-256 when the high bit of the first byte is set. */
function headerSize(block: Buffer): number {
  const field = block.subarray(124, 136);
  if (((field[0] as number) & 0x80) !== 0) {
    let n = 0;
    for (let i = 1; i < field.length; i++) n = n * 256 + (field[i] as number);
    return n;
  }
  const text = field.toString('latin1').replace(/\0.*$/s, '').trim();
  return text === '' ? 0 : Number.parseInt(text, 8);
}

/** A record (`size`, `path`) of a pax extended header, if it has one. */
function paxRecord(data: Buffer, key: string): string | null {
  const m = new RegExp(`(?:^|\\n)\\d+ ${key}=([^\\n]*)\\n`).exec(data.toString('utf8'));
  return m ? (m[1] as string) : null;
}

export class TarEndError extends Error {}

type Phase = 'header' | 'data' | 'padding';

export class TarEndCompleter extends Transform {
  #phase: Phase = 'header';
  /** Bytes still to come in the current header block, data or padding. */
  #left = BLOCK;
  #header = Buffer.alloc(BLOCK);
  #entry = '';
  #entrySize = 0;
  /** A pax header's data, kept only to read its size record (pax headers are small). */
  #pax: Buffer[] | null = null;
  #nextSize: number | null = null;
  #nextName: string | null = null;
  #zeroBlocks = 0;

  constructor(readonly what: string) {
    super();
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    let off = 0;
    while (off < chunk.length) {
      const n = Math.min(this.#left, chunk.length - off);
      if (this.#phase === 'header') chunk.copy(this.#header, BLOCK - this.#left, off, off + n);
      else if (this.#phase === 'data' && this.#pax && this.#pax.length < 64) this.#pax.push(chunk.subarray(off, off + n));
      off += n;
      this.#left -= n;
      if (this.#left === 0) this.#advance();
    }
    cb(null, chunk);
  }

  #advance(): void {
    if (this.#phase === 'header') {
      const h = this.#header;
      if (h.every((b) => b === 0)) {
        this.#zeroBlocks++;
        this.#left = BLOCK;
        return;
      }
      this.#zeroBlocks = 0;
      const type = String.fromCharCode(h[156] as number);
      let size = headerSize(h);
      if (this.#nextSize !== null && type !== 'x' && type !== 'g') {
        size = this.#nextSize;
        this.#nextSize = null;
      }
      // tar-stream reads no data for a directory, whatever its size says.
      if (type === '5') size = 0;
      this.#entry = this.#nextName ?? h.subarray(0, 100).toString('utf8').replace(/\0.*$/s, '');
      if (type !== 'x' && type !== 'g') this.#nextName = null;
      this.#entrySize = size;
      this.#pax = type === 'x' ? [] : null;
      this.#enter(size > 0 ? 'data' : 'header', size);
      return;
    }
    if (this.#phase === 'data') {
      if (this.#pax) {
        const data = Buffer.concat(this.#pax);
        const size = paxRecord(data, 'size');
        if (size !== null && /^\d+$/.test(size)) this.#nextSize = Number(size);
        this.#nextName = paxRecord(data, 'path');
        this.#pax = null;
      }
      const pad = (BLOCK - (this.#entrySize % BLOCK)) % BLOCK;
      this.#enter(pad > 0 ? 'padding' : 'header', pad);
      return;
    }
    this.#enter('header', BLOCK);
  }

  #enter(phase: Phase, bytes: number): void {
    this.#phase = phase;
    this.#left = phase === 'header' ? BLOCK : bytes;
  }

  override _flush(cb: TransformCallback): void {
    if (this.#phase === 'data') {
      cb(new TarEndError(`${this.what}: the archive ends inside the data of "${this.#entry}" (${this.#entrySize - this.#left} of ${this.#entrySize} bytes)`));
      return;
    }
    if (this.#phase === 'header' && this.#left !== BLOCK) {
      cb(new TarEndError(`${this.what}: the archive ends inside a tar header (${BLOCK - this.#left} of ${BLOCK} bytes)`));
      return;
    }
    const padding = this.#phase === 'padding' ? this.#left : 0;
    const endBlocks = Math.max(0, 2 - this.#zeroBlocks) * BLOCK;
    if (padding + endBlocks > 0) this.push(Buffer.alloc(padding + endBlocks));
    cb();
  }
}
