// The streaming server: HTTP(S) on loopback by default. The CRI Exec/Attach/PortForward
// handlers validate a request and store it under a single-use token (tokens.ts); the client
// then upgrades GET/POST /{exec,attach,portforward}/<token> to WebSocket or SPDY/3.1.
// A bad, used or expired token answers 404 before anything runs.
import { createServer as createHttpServer, type IncomingMessage, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { readFileSync } from 'node:fs';
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import { messageOf } from '../errors.js';
import type { Logger } from '../logger.js';
import type { StreamBackend } from './backend.js';
import { PORTFORWARD_WS_PROTOCOLS, servePortForwardWebSocket } from './portforward-ws.js';
import { EXEC_WS_PROTOCOLS, serveExecWebSocket } from './remotecommand-ws.js';
import { refuse } from './refuse.js';
import { serveSpdy } from './spdy-upgrade.js';
import { TokenCache, type StreamRequest } from './tokens.js';

export interface StreamServerOptions {
  address: string;
  /** 0: any free port. */
  port: number;
  tlsCertFile?: string;
  tlsKeyFile?: string;
  tokenTtlMs: number;
  /** A session with no traffic either way for this long is closed, ending its process; 0: never. */
  idleTimeoutMs?: number;
  backend: StreamBackend;
  log: Logger;
}

/** Upgrade requests carry no body; their headers are bounded by Node's maxHeaderSize (16 KiB). */
const PATH = /^\/(exec|attach|portforward)\/([A-Za-z0-9_-]{1,128})$/;

/** What the CRI handlers need: a URL for a validated request. */
export interface StreamUrls {
  urlFor(request: StreamRequest): string;
}

export class StreamServer implements StreamUrls {
  private readonly tokens: TokenCache;
  private readonly server: Server;
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: 1 << 20, perMessageDeflate: false });
  private readonly sockets = new Set<Duplex>();
  private baseUrl = '';

  constructor(private readonly opts: StreamServerOptions) {
    this.tokens = new TokenCache(opts.tokenTtlMs);
    const tls = opts.tlsCertFile && opts.tlsKeyFile
      ? { cert: readFileSync(opts.tlsCertFile), key: readFileSync(opts.tlsKeyFile) } : null;
    this.server = tls ? createHttpsServer(tls) : createHttpServer();
    this.server.on('request', (req, res) => {
      // Every stream needs an upgrade: a plain request is a client error, and a bad token 404.
      const match = PATH.exec(new URL(req.url ?? '/', 'http://x').pathname);
      res.statusCode = match ? 400 : 404;
      res.end(match ? 'an upgrade to websocket or SPDY/3.1 is required\n' : 'not found\n');
    });
    this.server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => this.upgrade(req, socket, head));
    this.server.on('connection', (s: Socket) => { this.sockets.add(s); s.on('close', () => this.sockets.delete(s)); });
  }

  async listen(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.opts.port, this.opts.address, () => resolve());
    });
    const addr = this.server.address() as AddressInfo;
    const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
    this.baseUrl = `${this.opts.tlsCertFile ? 'https' : 'http'}://${host}:${addr.port}`;
  }

  /** Stores a validated request and returns the URL that serves it, once. */
  urlFor(request: StreamRequest): string {
    return `${this.baseUrl}/${request.kind}/${this.tokens.insert(request)}`;
  }

  baseUrlForLog(): string {
    return this.baseUrl;
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', () => undefined);
    const match = PATH.exec(new URL(req.url ?? '/', 'http://x').pathname);
    const request = match && match[2] ? this.tokens.consume(match[2]) : null;
    if (!match || !request || request.kind !== match[1]) return refuse(socket, 404, 'Not Found');
    const upgrade = (req.headers.upgrade ?? '').toLowerCase();
    if (upgrade === 'websocket') return this.upgradeWebSocket(req, socket, head, request);
    if (upgrade === 'spdy/3.1') {
      serveSpdy(req, socket, head, request, this.opts.backend, this.opts.log);
      return this.closeWhenIdle(socket, request.kind);
    }
    refuse(socket, 400, 'Bad Request');
  }

  /** Ends a session (and so its process) after idleTimeoutMs with no byte read or written. */
  private closeWhenIdle(socket: Duplex, kind: string): void {
    const idle = this.opts.idleTimeoutMs ?? 0;
    if (idle <= 0 || socket.destroyed || !('setTimeout' in socket)) return;
    (socket as Socket).setTimeout(idle, () => {
      this.opts.log.info({ kind, idleMs: idle }, 'closing an idle streaming session');
      socket.destroy();
    });
  }

  private upgradeWebSocket(req: IncomingMessage, socket: Duplex, head: Buffer, request: StreamRequest): void {
    const offered = (req.headers['sec-websocket-protocol'] ?? '').split(',').map((p) => p.trim()).filter(Boolean);
    const supported = request.kind === 'portforward' ? PORTFORWARD_WS_PROTOCOLS : EXEC_WS_PROTOCOLS;
    const chosen = offered.find((p) => supported.includes(p));
    if (offered.length > 0 && !chosen) return refuse(socket, 403, 'Forbidden');
    let netns: string | null = null;
    if (request.kind === 'portforward') {
      try {
        netns = this.opts.backend.sandboxNetns(request.sandboxId);
      } catch (err) {
        return refuse(socket, 412, 'Precondition Failed', messageOf(err));
      }
    }
    // ws answers with the first protocol its handleProtocols returns; none offered: no header.
    this.wss.options.handleProtocols = () => chosen ?? false;
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      this.closeWhenIdle(socket, request.kind); // after ws's upgrade, which clears socket timeouts
      if (request.kind === 'exec' || request.kind === 'attach') void serveExecWebSocket(ws, request, this.opts.backend, this.opts.log);
      else if (request.kind === 'portforward') servePortForwardWebSocket(ws, request, netns, this.opts.log);
    });
  }
}
