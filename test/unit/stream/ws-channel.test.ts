import { describe, expect, it } from 'vitest';
import { decodeChannelFrame, encodeChannelFrame } from '../../../src/stream/ws-channel.js';

describe('WebSocket channel frames', () => {
  it('decodes binary frames and their base64 variant', () => {
    expect(decodeChannelFrame(Buffer.from([2, 104, 105]), true, false)).toEqual({ channel: 2, payload: Buffer.from('hi') });
    expect(decodeChannelFrame(Buffer.from('1aGk='), false, false)).toEqual({ channel: 1, payload: Buffer.from('hi') });
    expect(decodeChannelFrame(Buffer.from('0aGk='), true, true)).toEqual({ channel: 0, payload: Buffer.from('hi') });
  });
  it('gives null for empty messages and an empty payload for a bare channel', () => {
    expect(decodeChannelFrame(Buffer.alloc(0), true, false)).toBeNull();
    expect(decodeChannelFrame(Buffer.alloc(0), false, true)).toBeNull();
    expect(decodeChannelFrame(Buffer.from([255]), true, false)).toEqual({ channel: 255, payload: Buffer.alloc(0) });
  });
  it('round-trips what it encodes', () => {
    for (const base64 of [false, true]) {
      const msg = encodeChannelFrame(3, Buffer.from('status'), base64);
      const raw = typeof msg === 'string' ? Buffer.from(msg) : msg;
      expect(decodeChannelFrame(raw, typeof msg !== 'string', base64)).toEqual({ channel: 3, payload: Buffer.from('status') });
    }
  });
});
