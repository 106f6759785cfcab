// Two SpdyConnections, client and server, over a real socket pair: streams, replies, data,
// FIN, reset, ping echo, the stream limit and GOAWAY.
import { createServer, connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { SpdyConnection, type SpdyStream } from '../../../src/stream/spdy/connection.js';
import { encodeFrame } from '../../../src/stream/spdy/frames.js';

const cleanups: Array<() => void> = [];
afterEach(() => { for (const c of cleanups.splice(0)) c(); });

async function pair(limits = {}): Promise<{ client: SpdyConnection; server: SpdyConnection; raw: Socket }> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const port = (srv.address() as { port: number }).port;
  const accepted = new Promise<Socket>((r) => srv.once('connection', r));
  const raw = connect(port, '127.0.0.1');
  const server = new SpdyConnection(await accepted, 'server', limits);
  const client = new SpdyConnection(raw, 'client');
  cleanups.push(() => { raw.destroy(); srv.close(); });
  return { client, server, raw };
}

function nextStream(server: SpdyConnection): Promise<SpdyStream> {
  return new Promise((r) => server.once('stream', r));
}

describe('SpdyConnection', () => {
  it('opens streams, replies, carries data both ways and half-closes with FIN', async () => {
    const { client, server } = await pair();
    const incoming = nextStream(server);
    const stream = client.openStream({ streamtype: ['stdin'], port: ['80'] });
    const s = await incoming;
    expect(s.id).toBe(1);
    expect(s.header('streamType')).toBe('stdin');
    const replied = new Promise((r) => stream.once('reply', r));
    await s.reply({});
    await replied;
    const got = new Promise<string>((r) => { let t = ''; s.on('data', (d: Buffer) => { t += d.toString(); }); s.on('end', () => r(t)); });
    stream.write(Buffer.alloc(100_000, 0x41));
    stream.end();
    expect((await got).length).toBe(100_000);
    const back = new Promise<string>((r) => stream.on('data', (d: Buffer) => r(d.toString())));
    s.write(Buffer.from('pong'));
    expect(await back).toBe('pong');
    const second = nextStream(server);
    client.openStream({ streamtype: ['stdout'] });
    expect((await second).id).toBe(3);
  });

  it('echoes the peer\'s pings and reports resets', async () => {
    const { client, server } = await pair();
    const pong = new Promise((r) => client.once('pong', r));
    client.sendFrame({ type: 'ping', id: 1 });
    expect(await pong).toBe(1);
    const incoming = nextStream(server);
    const stream = client.openStream({ streamtype: ['bogus'] });
    const reset = new Promise((r) => stream.once('reset', r));
    (await incoming).resetStream(3);
    expect(await reset).toBe(3);
  });

  it('refuses streams over the limit', async () => {
    const { client, server } = await pair({ maxStreams: 1 });
    const first = nextStream(server);
    client.openStream({ a: ['1'] });
    await first;
    const extra = client.openStream({ a: ['2'] });
    expect(await new Promise((r) => extra.once('reset', r))).toBe(3);
    expect(server.streamCount).toBe(1);
  });

  it('closes on a protocol error (a frame over the limit) and on GOAWAY', async () => {
    const { server, raw } = await pair({ maxFrameLength: 1024 });
    const errored = new Promise<Error>((r) => server.once('protocolError', r));
    const closed = new Promise((r) => server.once('close', r));
    raw.write(encodeFrame({ type: 'data', streamId: 1, flags: 0, data: Buffer.alloc(4096) }));
    expect((await errored).message).toMatch(/exceeds the limit/);
    await closed;
    const second = await pair();
    const serverClosed = new Promise((r) => second.server.once('close', r));
    second.client.close();
    await serverClosed;
    expect(second.server.closed).toBe(true);
  });
});
