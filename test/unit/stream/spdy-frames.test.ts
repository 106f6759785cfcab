import { deflateSync, inflateSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { SPDY3_DICTIONARY } from '../../../src/stream/spdy/dictionary.js';
import { encodeFrame, FLAG_FIN, FrameParser, parseFrame, SpdyProtocolError, type Frame } from '../../../src/stream/spdy/frames.js';
import { decodeHeaderBlock, encodeHeaderBlock, HeaderCompressor, HeaderDecompressor } from '../../../src/stream/spdy/header-block.js';

describe('SPDY/3 frames', () => {
  const frames: Frame[] = [
    { type: 'data', streamId: 5, flags: FLAG_FIN, data: Buffer.from('hello') },
    { type: 'syn_stream', streamId: 1, associatedId: 0, priority: 3, flags: 0, headerBlock: Buffer.from([1, 2, 3]) },
    { type: 'syn_reply', streamId: 1, flags: FLAG_FIN, headerBlock: Buffer.from([9]) },
    { type: 'headers', streamId: 3, flags: 0, headerBlock: Buffer.alloc(0) },
    { type: 'rst_stream', streamId: 7, status: 5 },
    { type: 'settings', flags: 0, entries: [{ id: 4, flags: 1, value: 100 }] },
    { type: 'ping', id: 42 },
    { type: 'goaway', lastGoodStreamId: 9, status: 0 },
    { type: 'window_update', streamId: 1, delta: 65536 },
  ];

  it('round-trips every frame type', () => {
    for (const frame of frames) expect(parseFrame(encodeFrame(frame))).toEqual(frame);
  });

  it('lays a control frame out as the protocol says', () => {
    const ping = encodeFrame({ type: 'ping', id: 1 });
    expect(ping.toString('hex')).toBe('80030006' + '00000004' + '00000001');
    const data = encodeFrame({ type: 'data', streamId: 3, flags: FLAG_FIN, data: Buffer.from('ab') });
    expect(data.toString('hex')).toBe('00000003' + '01000002' + '6162');
  });

  it('cuts a byte stream into frames wherever the chunks split', () => {
    const bytes = Buffer.concat(frames.map(encodeFrame));
    const parser = new FrameParser();
    const out: Frame[] = [];
    for (let i = 0; i < bytes.length; i += 3) out.push(...parser.push(bytes.subarray(i, i + 3)));
    expect(out).toEqual(frames);
  });

  it('refuses frames over the limit, other versions and short bodies', () => {
    const big = encodeFrame({ type: 'data', streamId: 1, flags: 0, data: Buffer.alloc(2000) });
    expect(() => new FrameParser(1000).push(big)).toThrow(SpdyProtocolError);
    const v2 = encodeFrame({ type: 'ping', id: 1 });
    v2.writeUInt16BE(0x8002, 0);
    expect(() => parseFrame(v2)).toThrow(/version 2/);
    const short = Buffer.from('8003000100000002' + '0000', 'hex');
    expect(() => parseFrame(short)).toThrow(/too short/);
  });
});

describe('SPDY/3 header blocks', () => {
  it('has the 1423-byte SPDY/3 dictionary', () => {
    expect(SPDY3_DICTIONARY.length).toBe(1423);
    expect(SPDY3_DICTIONARY.subarray(0, 11).toString('latin1')).toBe('\0\0\0\x07options');
    expect(SPDY3_DICTIONARY.subarray(-6).toString('latin1')).toBe('enq=0.');
  });

  it('encodes names lowercase with NUL-joined values, and decodes them back', () => {
    const block = encodeHeaderBlock({ StreamType: ['stdout'], multi: ['a', 'b'] });
    expect(decodeHeaderBlock(block)).toEqual({ streamtype: ['stdout'], multi: ['a', 'b'] });
  });

  it('refuses uppercase names, truncation and too many pairs', () => {
    const upper = Buffer.concat([Buffer.from([0, 0, 0, 1, 0, 0, 0, 1]), Buffer.from('A'), Buffer.from([0, 0, 0, 0])]);
    expect(() => decodeHeaderBlock(upper)).toThrow(/lowercase/);
    expect(() => decodeHeaderBlock(Buffer.from([0, 0, 0, 1, 0, 0, 0, 9]))).toThrow(/truncated/);
    expect(() => decodeHeaderBlock(Buffer.from([0, 0, 2, 0]))).toThrow(/pairs/);
  });

  it('shares one zlib context per direction, primed with the dictionary, across blocks', async () => {
    const c = new HeaderCompressor();
    const d = new HeaderDecompressor();
    const first = await c.compress({ streamtype: ['error'] });
    const second = await c.compress({ streamtype: ['stdin'], port: ['80'] });
    // The first block alone inflates with the dictionary (the peer's view of a new context).
    expect(decodeHeaderBlock(inflateSync(first, { dictionary: SPDY3_DICTIONARY, finishFlush: 2 }))).toEqual({ streamtype: ['error'] });
    expect(await d.decompress(first)).toEqual({ streamtype: ['error'] });
    expect(await d.decompress(second)).toEqual({ streamtype: ['stdin'], port: ['80'] });
    c.close();
    d.close();
  });

  it('bounds a decompressed header block (a zlib bomb fails)', async () => {
    const bomb = deflateSync(Buffer.concat([Buffer.from([0, 0, 0, 1, 0, 0, 0, 1, 0x61, 0, 0x10, 0, 0]), Buffer.alloc(1 << 20, 0x61)]), { dictionary: SPDY3_DICTIONARY });
    const d = new HeaderDecompressor();
    await expect(d.decompress(bomb)).rejects.toThrow(/over/);
    d.close();
  });
});
