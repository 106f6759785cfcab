// A SPDY/3.1 session over a byte stream, for either end: streams opened by the peer arrive as
// 'stream' events (SYN_STREAM, with decompressed headers), ours are opened with openStream.
// No flow control (as moby/spdystream, which kubelet and client-go use): WINDOW_UPDATE is
// parsed and ignored. PINGs from the peer are echoed; GOAWAY and errors close the session.
import { EventEmitter } from 'node:events';
import type { Duplex } from 'node:stream';
import { encodeFrame, FLAG_FIN, FrameParser, RST_PROTOCOL_ERROR, RST_REFUSED_STREAM, SpdyProtocolError, type Frame } from './frames.js';
import { HeaderCompressor, HeaderDecompressor, type Headers } from './header-block.js';

export interface SpdyLimits {
  /** Bound on one frame's length (each frame is buffered whole). */
  maxFrameLength: number;
  /** Bound on streams open at once; more are refused with RST_STREAM. */
  maxStreams: number;
}

const DEFAULT_LIMITS: SpdyLimits = { maxFrameLength: 1 << 20, maxStreams: 1000 };
/** Data frames we send are cut to this size. */
const DATA_CHUNK = 32 * 1024;

export class SpdyStream extends EventEmitter {
  /** The peer sent FIN (no more data will come). */
  remoteClosed = false;
  /** We sent FIN. */
  localClosed = false;
  reset = false;
  replyHeaders: Headers | null = null;
  private replied: Promise<void> | null = null;

  constructor(readonly session: SpdyConnection, readonly id: number, readonly headers: Headers) {
    super();
  }

  header(name: string): string | undefined {
    return this.headers[name.toLowerCase()]?.[0];
  }

  /** SYN_REPLY (server side): the peer counts the stream as open once it sees this. */
  reply(headers: Headers = {}, fin = false): Promise<void> {
    this.replied ??= this.session.sendHeaders('syn_reply', this.id, headers, fin);
    if (fin) this.localClosed = true;
    return this.replied;
  }

  write(data: Buffer): boolean {
    if (this.localClosed || this.reset) return false;
    for (let off = 0; off < data.length; off += DATA_CHUNK) {
      this.session.sendFrame({ type: 'data', streamId: this.id, flags: 0, data: data.subarray(off, off + DATA_CHUNK) });
    }
    return this.session.writable();
  }

  /** Half-close: FIN on an empty data frame. */
  end(): void {
    if (this.localClosed || this.reset) return;
    this.localClosed = true;
    this.session.sendFrame({ type: 'data', streamId: this.id, flags: FLAG_FIN, data: Buffer.alloc(0) });
    this.session.maybeForget(this);
  }

  resetStream(status = 5): void {
    if (this.reset) return;
    this.reset = true;
    this.session.sendFrame({ type: 'rst_stream', streamId: this.id, status });
    this.session.forget(this.id);
    this.emit('close');
  }
}

export class SpdyConnection extends EventEmitter {
  private readonly parser: FrameParser;
  private readonly compressor = new HeaderCompressor();
  private readonly decompressor = new HeaderDecompressor();
  private readonly streams = new Map<number, SpdyStream>();
  private nextStreamId: number;
  private lastPeerStreamId = 0;
  /** Frames are handled one at a time, in order (header decompression is async). */
  private queue: Promise<void> = Promise.resolve();
  /** Frames wait here until the headers of every earlier frame are compressed. */
  private sendChain: Promise<void> = Promise.resolve();
  closed = false;
  private readonly limits: SpdyLimits;

  constructor(private readonly socket: Duplex, readonly role: 'server' | 'client', limits: Partial<SpdyLimits> = {}) {
    super();
    this.limits = { ...DEFAULT_LIMITS, ...limits };
    this.parser = new FrameParser(this.limits.maxFrameLength);
    this.nextStreamId = role === 'client' ? 1 : 2;
    socket.on('data', (chunk: Buffer) => this.onBytes(chunk));
    socket.on('close', () => this.shutdown());
    socket.on('error', () => this.shutdown());
    socket.on('drain', () => this.emit('drain'));
  }

  get streamCount(): number {
    return this.streams.size;
  }

  /** Stops reading from the peer (every stream: SPDY here has no per-stream flow control). */
  pauseReading(): void {
    this.socket.pause();
  }

  resumeReading(): void {
    this.socket.resume();
  }

  writable(): boolean {
    return !this.closed && this.socket.writableLength < 1 << 20;
  }

  openStream(headers: Headers, fin = false): SpdyStream {
    const id = this.nextStreamId;
    this.nextStreamId += 2;
    const stream = new SpdyStream(this, id, headers);
    if (fin) stream.localClosed = true;
    this.streams.set(id, stream);
    void this.sendHeaders('syn_stream', id, headers, fin).catch(() => this.shutdown());
    return stream;
  }

  sendFrame(frame: Frame): void {
    if (this.closed) return;
    this.sendChain = this.sendChain.then(() => { if (!this.closed) this.socket.write(encodeFrame(frame)); });
  }

  sendHeaders(kind: 'syn_stream' | 'syn_reply', streamId: number, headers: Headers, fin: boolean): Promise<void> {
    if (this.closed) return Promise.resolve();
    const compressed = this.compressor.compress(headers);
    const sent = this.sendChain.then(async () => {
      const headerBlock = await compressed;
      if (this.closed) return;
      const flags = fin ? FLAG_FIN : 0;
      this.socket.write(encodeFrame(kind === 'syn_stream'
        ? { type: 'syn_stream', streamId, associatedId: 0, priority: 0, flags, headerBlock }
        : { type: 'syn_reply', streamId, flags, headerBlock }));
    });
    this.sendChain = sent.catch(() => undefined);
    return sent;
  }

  /** GOAWAY, then the socket ends once queued frames are out. */
  close(): void {
    if (this.closed) return;
    this.sendFrame({ type: 'goaway', lastGoodStreamId: this.lastPeerStreamId, status: 0 });
    void this.sendChain.then(() => { this.socket.end(); this.shutdown(); });
  }

  forget(id: number): void {
    this.streams.delete(id);
  }

  maybeForget(stream: SpdyStream): void {
    if (stream.localClosed && stream.remoteClosed) {
      this.streams.delete(stream.id);
      stream.emit('close');
    }
  }

  private shutdown(): void {
    if (this.closed) return;
    this.closed = true;
    for (const stream of this.streams.values()) {
      stream.reset = true;
      stream.emit('close');
    }
    this.streams.clear();
    this.compressor.close();
    this.decompressor.close();
    this.socket.destroy();
    this.emit('close');
  }

  private onBytes(chunk: Buffer): void {
    let frames: Frame[];
    try {
      frames = this.parser.push(chunk);
    } catch (err) {
      return this.protocolError(err);
    }
    for (const frame of frames) {
      this.queue = this.queue.then(() => this.onFrame(frame)).catch((err: unknown) => this.protocolError(err));
    }
  }

  private protocolError(err: unknown): void {
    this.emit('protocolError', err instanceof Error ? err : new SpdyProtocolError(String(err)));
    if (!this.closed) {
      this.sendFrame({ type: 'goaway', lastGoodStreamId: this.lastPeerStreamId, status: RST_PROTOCOL_ERROR });
      void this.sendChain.then(() => this.shutdown());
    }
  }

  private async onFrame(frame: Frame): Promise<void> {
    if (this.closed) return;
    switch (frame.type) {
      case 'syn_stream': {
        // Decompress even a refused stream's headers: the zlib context is shared.
        const headers = await this.decompressor.decompress(frame.headerBlock);
        const peerParity = this.role === 'server' ? 1 : 0;
        if (frame.streamId === 0 || frame.streamId % 2 !== peerParity || frame.streamId <= this.lastPeerStreamId) {
          throw new SpdyProtocolError(`bad stream id ${frame.streamId}`);
        }
        this.lastPeerStreamId = frame.streamId;
        if (this.streams.size >= this.limits.maxStreams) {
          this.sendFrame({ type: 'rst_stream', streamId: frame.streamId, status: RST_REFUSED_STREAM });
          return;
        }
        const stream = new SpdyStream(this, frame.streamId, headers);
        if (frame.flags & FLAG_FIN) stream.remoteClosed = true;
        this.streams.set(frame.streamId, stream);
        this.emit('stream', stream);
        return;
      }
      case 'syn_reply':
      case 'headers': {
        const headers = await this.decompressor.decompress(frame.headerBlock);
        const stream = this.streams.get(frame.streamId);
        if (!stream) return;
        if (frame.type === 'syn_reply') { stream.replyHeaders = headers; stream.emit('reply', headers); }
        if (frame.flags & FLAG_FIN) this.remoteFin(stream);
        return;
      }
      case 'data': {
        const stream = this.streams.get(frame.streamId);
        if (!stream) return;
        if (frame.data.length > 0) stream.emit('data', frame.data);
        if (frame.flags & FLAG_FIN) this.remoteFin(stream);
        return;
      }
      case 'rst_stream': {
        const stream = this.streams.get(frame.streamId);
        if (!stream) return;
        stream.reset = true;
        this.streams.delete(frame.streamId);
        stream.emit('reset', frame.status);
        stream.emit('close');
        return;
      }
      case 'ping':
        // Echo pings the peer started (their ids have the peer's parity).
        if ((frame.id % 2 === 1) === (this.role === 'server')) this.sendFrame(frame);
        else this.emit('pong', frame.id);
        return;
      case 'goaway':
        this.emit('goaway');
        this.close();
        return;
      default:
        return; // SETTINGS, WINDOW_UPDATE, unknown: nothing to do
    }
  }

  private remoteFin(stream: SpdyStream): void {
    if (stream.remoteClosed) return;
    stream.remoteClosed = true;
    stream.emit('end');
    this.maybeForget(stream);
  }
}
