// Port-forward over WebSocket (v4.channel.k8s.io and the older ""/base64 ones): for the i-th
// port of the CRI request, channel 2i carries data both ways and 2i+1 errors; the first frame
// on each channel is the port as uint16 little-endian. No half-close: the client closes the
// whole WebSocket when done, which ends every relay.
import type { WebSocket } from 'ws';
import type { Logger } from '../logger.js';
import { dialInNetns, type PodConnection } from './port-dialer.js';
import type { PortForwardRequest } from './tokens.js';
import { decodeChannelFrame, encodeChannelFrame } from './ws-channel.js';

export const PORTFORWARD_WS_PROTOCOLS = ['v4.channel.k8s.io', 'v4.base64.channel.k8s.io', 'channel.k8s.io', 'base64.channel.k8s.io'];
const HIGH_WATER = 1 << 20;

export function servePortForwardWebSocket(ws: WebSocket, req: PortForwardRequest, netns: string | null, log: Logger): void {
  const base64 = ws.protocol.includes('base64');
  const send = (channel: number, data: Buffer): void => {
    if (ws.readyState !== ws.OPEN) return;
    ws.send(encodeChannelFrame(channel, data, base64));
  };
  const conns: PodConnection[] = [];
  req.ports.forEach((port, i) => {
    const prefix = Buffer.from([port & 0xff, port >> 8]);
    send(2 * i, prefix);
    send(2 * i + 1, prefix);
    const conn = dialInNetns(netns, port);
    conns.push(conn);
    conn.process.stdout.on('data', (d: Buffer) => {
      send(2 * i, d);
      if (ws.bufferedAmount > HIGH_WATER) {
        conn.process.stdout.pause();
        const poll = setInterval(() => {
          if (ws.readyState !== ws.OPEN || ws.bufferedAmount < HIGH_WATER / 2) { clearInterval(poll); conn.process.stdout.resume(); }
        }, 5);
      }
    });
    void conn.closed.then(({ code, stderr }) => {
      if (code !== 0 && ws.readyState === ws.OPEN) {
        const message = `error forwarding port ${port} to pod ${req.sandboxId}, uid : ${stderr || `exit code ${code}`}`;
        log.info({ sandbox: req.sandboxId, port, err: message }, 'port-forward failed');
        send(2 * i + 1, Buffer.from(message));
      }
      ws.close(1000);
    });
  });
  ws.on('message', (raw: Buffer, isBinary: boolean) => {
    const frame = decodeChannelFrame(raw, isBinary, base64);
    if (!frame) return;
    const conn = frame.channel % 2 === 0 ? conns[frame.channel / 2] : undefined;
    if (conn && frame.payload.length > 0 && !conn.process.stdin.destroyed && !conn.process.stdin.write(frame.payload)) {
      // The pod reads slower than the client sends: stop reading the WebSocket until it drains.
      ws.pause();
      conn.process.stdin.once('drain', () => ws.resume());
    }
  });
  const end = (): void => { for (const c of conns) c.process.kill('SIGKILL'); };
  ws.on('close', end);
  ws.on('error', end);
}
