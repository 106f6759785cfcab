// SPDY/3.1 framing: encoding frames and cutting a byte stream into frames. Header blocks stay
// compressed here (header-block.ts handles them); this module is pure and synchronous.
//   control: |1|version(15)=3|type(16)|flags(8)|length(24)|data
//   data:    |0|stream id(31)|flags(8)|length(24)|data

export const SPDY_VERSION = 3;
export const FLAG_FIN = 0x01;
export const FLAG_UNIDIRECTIONAL = 0x02;

export const enum FrameType {
  SynStream = 1, SynReply = 2, RstStream = 3, Settings = 4, Ping = 6, GoAway = 7, Headers = 8, WindowUpdate = 9,
}

/** RST_STREAM status codes. */
export const RST_PROTOCOL_ERROR = 1;
export const RST_REFUSED_STREAM = 3;
export const RST_CANCEL = 5;

export type Frame =
  | { type: 'data'; streamId: number; flags: number; data: Buffer }
  | { type: 'syn_stream'; streamId: number; associatedId: number; priority: number; flags: number; headerBlock: Buffer }
  | { type: 'syn_reply'; streamId: number; flags: number; headerBlock: Buffer }
  | { type: 'headers'; streamId: number; flags: number; headerBlock: Buffer }
  | { type: 'rst_stream'; streamId: number; status: number }
  | { type: 'settings'; flags: number; entries: Array<{ id: number; flags: number; value: number }> }
  | { type: 'ping'; id: number }
  | { type: 'goaway'; lastGoodStreamId: number; status: number }
  | { type: 'window_update'; streamId: number; delta: number }
  | { type: 'unknown'; controlType: number };

export class SpdyProtocolError extends Error {}

const STREAM_ID_MASK = 0x7fffffff;
export const MAX_FRAME_LENGTH = 0xffffff;

function control(type: number, flags: number, body: Buffer): Buffer {
  if (body.length > MAX_FRAME_LENGTH) throw new SpdyProtocolError(`control frame of ${body.length} bytes is too long`);
  const head = Buffer.alloc(8);
  head.writeUInt16BE(0x8000 | SPDY_VERSION, 0);
  head.writeUInt16BE(type, 2);
  head.writeUInt32BE(((flags & 0xff) << 24 | body.length) >>> 0, 4);
  return Buffer.concat([head, body]);
}

function u32s(...values: number[]): Buffer {
  const b = Buffer.alloc(4 * values.length);
  values.forEach((v, i) => b.writeUInt32BE(v >>> 0, 4 * i));
  return b;
}

/** Encodes one frame. Header blocks must already be compressed. */
export function encodeFrame(frame: Frame): Buffer {
  switch (frame.type) {
    case 'data': {
      if (frame.data.length > MAX_FRAME_LENGTH) throw new SpdyProtocolError('data frame too long');
      const head = Buffer.alloc(8);
      head.writeUInt32BE(frame.streamId & STREAM_ID_MASK, 0);
      head.writeUInt32BE(((frame.flags & 0xff) << 24 | frame.data.length) >>> 0, 4);
      return Buffer.concat([head, frame.data]);
    }
    case 'syn_stream': {
      const fixed = Buffer.alloc(10);
      fixed.writeUInt32BE(frame.streamId & STREAM_ID_MASK, 0);
      fixed.writeUInt32BE(frame.associatedId & STREAM_ID_MASK, 4);
      fixed[8] = (frame.priority & 0x7) << 5;
      return control(FrameType.SynStream, frame.flags, Buffer.concat([fixed, frame.headerBlock]));
    }
    case 'syn_reply':
      return control(FrameType.SynReply, frame.flags, Buffer.concat([u32s(frame.streamId & STREAM_ID_MASK), frame.headerBlock]));
    case 'headers':
      return control(FrameType.Headers, frame.flags, Buffer.concat([u32s(frame.streamId & STREAM_ID_MASK), frame.headerBlock]));
    case 'rst_stream':
      return control(FrameType.RstStream, 0, u32s(frame.streamId & STREAM_ID_MASK, frame.status));
    case 'settings':
      return control(FrameType.Settings, frame.flags, Buffer.concat([
        u32s(frame.entries.length), ...frame.entries.map((e) => u32s(((e.flags & 0xff) << 24 | (e.id & 0xffffff)) >>> 0, e.value)),
      ]));
    case 'ping':
      return control(FrameType.Ping, 0, u32s(frame.id));
    case 'goaway':
      return control(FrameType.GoAway, 0, u32s(frame.lastGoodStreamId & STREAM_ID_MASK, frame.status));
    case 'window_update':
      return control(FrameType.WindowUpdate, 0, u32s(frame.streamId & STREAM_ID_MASK, frame.delta & STREAM_ID_MASK));
    case 'unknown':
      throw new SpdyProtocolError('cannot encode an unknown frame');
  }
}

/**
 * Cuts bytes into frames. `maxFrameLength` bounds what one frame may claim (the whole frame
 * is buffered before it is parsed), so a peer cannot make the reader hold 16 MiB per frame.
 */
export class FrameParser {
  private buffer: Buffer = Buffer.alloc(0);

  constructor(private readonly maxFrameLength = MAX_FRAME_LENGTH) {}

  /** Adds bytes and returns every frame now complete. Throws SpdyProtocolError on bad input. */
  push(chunk: Buffer): Frame[] {
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    const frames: Frame[] = [];
    while (this.buffer.length >= 8) {
      const length = this.buffer.readUInt32BE(4) & 0xffffff;
      if (length > this.maxFrameLength) throw new SpdyProtocolError(`frame of ${length} bytes exceeds the limit of ${this.maxFrameLength}`);
      if (this.buffer.length < 8 + length) break;
      frames.push(parseFrame(this.buffer.subarray(0, 8 + length)));
      this.buffer = this.buffer.subarray(8 + length);
    }
    return frames;
  }
}

function need(body: Buffer, bytes: number, what: string): void {
  if (body.length < bytes) throw new SpdyProtocolError(`${what} frame too short (${body.length} bytes)`);
}

export function parseFrame(raw: Buffer): Frame {
  const first = raw.readUInt32BE(0);
  const flags = raw[4] ?? 0;
  const body = raw.subarray(8);
  if ((first & 0x80000000) === 0) return { type: 'data', streamId: first & STREAM_ID_MASK, flags, data: body };
  const version = (first >>> 16) & 0x7fff;
  if (version !== SPDY_VERSION) throw new SpdyProtocolError(`unsupported SPDY version ${version}`);
  const type = first & 0xffff;
  switch (type) {
    case FrameType.SynStream:
      need(body, 10, 'SYN_STREAM');
      return {
        type: 'syn_stream', streamId: body.readUInt32BE(0) & STREAM_ID_MASK, associatedId: body.readUInt32BE(4) & STREAM_ID_MASK,
        priority: (body[8] ?? 0) >> 5, flags, headerBlock: body.subarray(10),
      };
    case FrameType.SynReply:
      need(body, 4, 'SYN_REPLY');
      return { type: 'syn_reply', streamId: body.readUInt32BE(0) & STREAM_ID_MASK, flags, headerBlock: body.subarray(4) };
    case FrameType.Headers:
      need(body, 4, 'HEADERS');
      return { type: 'headers', streamId: body.readUInt32BE(0) & STREAM_ID_MASK, flags, headerBlock: body.subarray(4) };
    case FrameType.RstStream:
      need(body, 8, 'RST_STREAM');
      return { type: 'rst_stream', streamId: body.readUInt32BE(0) & STREAM_ID_MASK, status: body.readUInt32BE(4) };
    case FrameType.Settings: {
      need(body, 4, 'SETTINGS');
      const count = body.readUInt32BE(0);
      need(body, 4 + 8 * count, 'SETTINGS');
      const entries = [];
      for (let i = 0; i < count; i++) {
        const word = body.readUInt32BE(4 + 8 * i);
        entries.push({ flags: word >>> 24, id: word & 0xffffff, value: body.readUInt32BE(8 + 8 * i) });
      }
      return { type: 'settings', flags, entries };
    }
    case FrameType.Ping:
      need(body, 4, 'PING');
      return { type: 'ping', id: body.readUInt32BE(0) };
    case FrameType.GoAway:
      need(body, 8, 'GOAWAY');
      return { type: 'goaway', lastGoodStreamId: body.readUInt32BE(0) & STREAM_ID_MASK, status: body.readUInt32BE(4) };
    case FrameType.WindowUpdate:
      need(body, 8, 'WINDOW_UPDATE');
      return { type: 'window_update', streamId: body.readUInt32BE(0) & STREAM_ID_MASK, delta: body.readUInt32BE(4) & STREAM_ID_MASK };
    default:
      return { type: 'unknown', controlType: type };
  }
}
