// Port-forward over SPDY (portforward.k8s.io): each forwarded connection is a pair of
// client-opened streams, streamType "error" and "data", with the same port and requestID
// headers. Data is relayed to 127.0.0.1:port inside the pod's netns; a failure is written on
// the error stream as {"closeConnection":bool,"message":...}.
import type { Logger } from '../logger.js';
import { dialInNetns } from './port-dialer.js';
import type { SpdyConnection, SpdyStream } from './spdy/connection.js';
import type { PortForwardRequest } from './tokens.js';

const PAIR_TIMEOUT_MS = 30_000;

interface Pair { data?: SpdyStream; error?: SpdyStream; timer: NodeJS.Timeout }

export function servePortForwardSpdy(session: SpdyConnection, req: PortForwardRequest, netns: string | null, log: Logger): void {
  const pairs = new Map<string, Pair>();
  const kills = new Set<() => void>();
  session.on('close', () => {
    for (const kill of kills) kill();
    for (const p of pairs.values()) clearTimeout(p.timer);
  });
  session.on('stream', (stream: SpdyStream) => {
    const type = stream.header('streamtype');
    const portText = stream.header('port') ?? '';
    const port = /^\d{1,5}$/.test(portText) ? Number(portText) : 0;
    if ((type !== 'data' && type !== 'error') || port < 1 || port > 65535 || (req.ports.length > 0 && !req.ports.includes(port))) {
      return stream.resetStream(1);
    }
    // Old clients send no requestID: the error stream's id pairs with data id - 2.
    const requestId = stream.header('requestid') ?? String(type === 'error' ? stream.id : stream.id - 2);
    let pair = pairs.get(requestId);
    if (!pair) {
      const timer = setTimeout(() => {
        pairs.delete(requestId);
        const p = pair as Pair;
        p.error?.write(Buffer.from(JSON.stringify({ closeConnection: false, message: `timed out waiting for the streams of request ${requestId}` })));
        p.error?.end();
        p.data?.resetStream();
      }, PAIR_TIMEOUT_MS);
      pair = { timer };
      pairs.set(requestId, pair);
    }
    if (pair[type]) return stream.resetStream(1);
    pair[type] = stream;
    void stream.reply();
    if (pair.data && pair.error) {
      clearTimeout(pair.timer);
      pairs.delete(requestId);
      forward(pair.data, pair.error, port);
    }
  });

  function forward(data: SpdyStream, error: SpdyStream, port: number): void {
    const conn = dialInNetns(netns, port);
    const kill = (): void => { conn.process.kill('SIGKILL'); };
    kills.add(kill);
    conn.process.stdout.on('data', (d: Buffer) => {
      if (!data.write(d)) {
        conn.process.stdout.pause();
        session.once('drain', () => conn.process.stdout.resume());
      }
    });
    data.on('data', (d: Buffer) => {
      if (conn.process.stdin.destroyed || conn.process.stdin.write(d)) return;
      // The pod reads slower than the client sends: stop reading the session until it drains.
      session.pauseReading();
      conn.process.stdin.once('drain', () => session.resumeReading());
      void conn.closed.then(() => session.resumeReading());
    });
    data.on('end', () => conn.process.stdin.end());
    data.on('reset', kill);
    void conn.closed.then(({ code, stderr }) => {
      kills.delete(kill);
      if (code !== 0 && code !== null && !session.closed) {
        const message = `error forwarding port ${port} to pod ${req.sandboxId}, uid : ${stderr || `exit code ${code}`}`;
        log.info({ sandbox: req.sandboxId, port, err: message }, 'port-forward failed');
        error.write(Buffer.from(JSON.stringify({ closeConnection: false, message })));
      }
      error.end();
      data.end();
    });
  }
}
