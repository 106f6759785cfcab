// Port-forward over SPDY (portforward.k8s.io): each forwarded connection is a pair of
// client-opened streams, streamType "error" and "data", with the same port and requestID
// headers. Data is relayed to 127.0.0.1:port inside the pod's netns (pod-forward.ts); a failure
// is written on the error stream as {"closeConnection":bool,"message":...}. A pod's FIN ends
// the data stream toward the client, whose data still reaches the pod for up to 1 s.
import type { Logger } from '../logger.js';
import { PodForward } from './pod-forward.js';
import type { SpdyConnection, SpdyStream } from './spdy/connection.js';
import type { PortForwardRequest } from './tokens.js';

const PAIR_TIMEOUT_MS = 30_000;

interface Pair { data?: SpdyStream; error?: SpdyStream; timer: NodeJS.Timeout }

export function servePortForwardSpdy(session: SpdyConnection, req: PortForwardRequest, netns: string | null, log: Logger): void {
  const pairs = new Map<string, Pair>();
  const forwards = new Set<() => void>();
  session.on('close', () => {
    for (const close of forwards) close();
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
    const fwd: PodForward = new PodForward(netns, port, {
      data: (d) => {
        if (!data.write(d)) {
          fwd.pause();
          session.once('drain', () => fwd.resume());
        }
      },
      end: () => data.end(), // the pod half-closed: so does the data stream toward the client
    });
    const close = (): void => fwd.close();
    forwards.add(close);
    data.on('data', (d: Buffer) => {
      if (fwd.write(d)) return;
      // The pod reads slower than the client sends: stop reading the session until it drains
      // (or that forward dies).
      session.pauseReading();
      fwd.whenWritable(() => session.resumeReading());
    });
    data.on('end', () => fwd.end());
    data.on('reset', close);
    void fwd.finished.then((err) => {
      forwards.delete(close);
      if (err !== null && !session.closed) {
        const message = `error forwarding port ${port} to pod ${req.sandboxId}, uid : ${err}`;
        log.info({ sandbox: req.sandboxId, port, err: message }, 'port-forward failed');
        error.write(Buffer.from(JSON.stringify({ closeConnection: false, message })));
      }
      error.end();
      data.end();
    });
  }
}
