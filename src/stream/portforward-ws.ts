// Port-forward over WebSocket (v4.channel.k8s.io and the older ""/base64 ones): for the i-th
// port of the CRI request, channel 2i carries data both ways and 2i+1 errors; the first frame
// on each channel is the port as uint16 little-endian. Each port's pair lives on its own (one
// connection to the pod each, pod-forward.ts); the WebSocket is closed once every one of them
// is over, or when the client closes it, which ends them all. There is no half-close toward
// the client on a channel, so a pod's FIN only starts that forward's 1 s linger.
import type { WebSocket } from 'ws';
import type { Logger } from '../logger.js';
import { PodForward } from './pod-forward.js';
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
  const polls = new Set<NodeJS.Timeout>();
  let open = req.ports.length;
  const forwards = req.ports.map((port, i) => {
    const prefix = Buffer.from([port & 0xff, port >> 8]);
    send(2 * i, prefix);
    send(2 * i + 1, prefix);
    let paused = false;
    const forward: PodForward = new PodForward(netns, port, {
      data: (d) => {
        send(2 * i, d);
        if (paused || ws.bufferedAmount <= HIGH_WATER) return;
        // The client reads slower than the pod sends: stop reading the pod until it catches up.
        paused = true;
        forward.pause();
        const poll = setInterval(() => {
          if (ws.readyState !== ws.OPEN || ws.bufferedAmount < HIGH_WATER / 2) {
            clearInterval(poll);
            polls.delete(poll);
            paused = false;
            forward.resume();
          }
        }, 5);
        polls.add(poll);
      },
      end: () => undefined,
    });
    void forward.finished.then((error) => {
      if (error !== null && ws.readyState === ws.OPEN) {
        const message = `error forwarding port ${port} to pod ${req.sandboxId}, uid : ${error}`;
        log.info({ sandbox: req.sandboxId, port, err: message }, 'port-forward failed');
        send(2 * i + 1, Buffer.from(message));
      }
      if (--open === 0) ws.close(1000);
    });
    return forward;
  });
  /** Forwards whose pod reads slower than the client sends; the WebSocket is read while none. */
  let blocked = 0;
  ws.on('message', (raw: Buffer, isBinary: boolean) => {
    const frame = decodeChannelFrame(raw, isBinary, base64);
    if (!frame) return;
    const forward = frame.channel % 2 === 0 ? forwards[frame.channel / 2] : undefined;
    if (forward && frame.payload.length > 0 && !forward.write(frame.payload)) {
      if (blocked++ === 0) ws.pause();
      // Released on drain, and also when that forward dies: a dead pod must not stall the rest.
      forward.whenWritable(() => { if (--blocked === 0) ws.resume(); });
    }
  });
  const end = (): void => {
    for (const poll of polls) clearInterval(poll);
    polls.clear();
    for (const f of forwards) f.close();
  };
  ws.on('close', end);
  ws.on('error', end);
}
