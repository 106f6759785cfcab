// The SPDY/3.1 upgrade: X-Stream-Protocol-Version negotiation (client order is preference),
// 101 Switching Protocols, then a SPDY session served by the exec or port-forward handler.
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { messageOf } from '../errors.js';
import type { Logger } from '../logger.js';
import type { StreamBackend } from './backend.js';
import { servePortForwardSpdy } from './portforward-spdy.js';
import { serveExecSpdy } from './remotecommand-spdy.js';
import { refuse } from './refuse.js';
import { SpdyConnection } from './spdy/connection.js';
import type { StreamRequest } from './tokens.js';

/** v5 over SPDY is v4: SPDY has its own half-close, the CLOSE signal is WebSocket's. */
export const EXEC_SPDY_PROTOCOLS = ['v5.channel.k8s.io', 'v4.channel.k8s.io', 'v3.channel.k8s.io', 'v2.channel.k8s.io', 'channel.k8s.io'];
export const PORTFORWARD_SPDY_PROTOCOLS = ['portforward.k8s.io'];

export function serveSpdy(req: IncomingMessage, socket: Duplex, head: Buffer, request: StreamRequest, backend: StreamBackend, log: Logger): void {
  const raw = req.headers['x-stream-protocol-version'];
  const offered = (Array.isArray(raw) ? raw.join(',') : raw ?? '').split(',').map((p) => p.trim()).filter(Boolean);
  const supported = request.kind === 'portforward' ? PORTFORWARD_SPDY_PROTOCOLS : EXEC_SPDY_PROTOCOLS;
  if (offered.length === 0) return refuse(socket, 400, 'Bad Request', 'unable to upgrade: X-Stream-Protocol-Version is required\n');
  const chosen = offered.find((p) => supported.includes(p));
  if (!chosen) {
    return refuse(socket, 403, 'Forbidden', `unable to upgrade: unable to negotiate protocol: client supports ${offered.join(', ')}, server supports ${supported.join(', ')}\n`,
      { 'X-Accepted-Stream-Protocol-Versions': supported.join(', ') });
  }
  let netns: string | null = null;
  if (request.kind === 'portforward') {
    try {
      netns = backend.sandboxNetns(request.sandboxId);
    } catch (err) {
      return refuse(socket, 412, 'Precondition Failed', `${messageOf(err)}\n`);
    }
  }
  socket.write(`HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\nX-Stream-Protocol-Version: ${chosen}\r\n\r\n`);
  if (head.length > 0) socket.unshift(head);
  const session = new SpdyConnection(socket, 'server');
  session.on('protocolError', (err: Error) => log.info({ err: err.message }, 'SPDY protocol error; closing the session'));
  if (request.kind === 'exec' || request.kind === 'attach') void serveExecSpdy(session, request, chosen, backend, log);
  else servePortForwardSpdy(session, request, netns, log);
}
