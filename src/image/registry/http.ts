// One HTTP(S) request with a connect timeout and an idle timeout, no redirects followed
// (the registry client decides what a redirect may carry), and a bounded body reader.
import http, { type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import https from 'node:https';
import { KeelsonError } from '../../errors.js';

export interface HttpOptions {
  method?: 'GET' | 'HEAD';
  headers?: Record<string, string>;
  connectTimeoutMs: number;
  /** No byte received for this long aborts the request (and later, the body). */
  idleTimeoutMs: number;
  /** Accept a self-signed certificate (insecure registries). */
  skipTlsVerify?: boolean;
}

export interface HttpResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: IncomingMessage;
  url: URL;
}

/** A connection-level failure worth retrying (reset, refused, timed out, TLS cut). */
export class TransportError extends KeelsonError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('Unavailable', message, options);
    this.name = 'TransportError';
  }
}

const agents = {
  http: new http.Agent({ keepAlive: true, maxSockets: 32 }),
  https: new https.Agent({ keepAlive: true, maxSockets: 32 }),
  httpsInsecure: new https.Agent({ keepAlive: true, maxSockets: 32, rejectUnauthorized: false }),
};

export function httpRequest(url: URL, opts: HttpOptions): Promise<HttpResponse> {
  const isHttps = url.protocol === 'https:';
  const lib = isHttps ? https : http;
  const agent = isHttps ? (opts.skipTlsVerify ? agents.httpsInsecure : agents.https) : agents.http;
  return new Promise((resolve, reject) => {
    const req = lib.request(url, { method: opts.method ?? 'GET', headers: opts.headers ?? {}, agent });
    let connected = false;
    const connectTimer = setTimeout(() => {
      if (!connected) req.destroy(new TransportError(`connecting to ${url.host} timed out after ${opts.connectTimeoutMs} ms`));
    }, opts.connectTimeoutMs);
    req.on('socket', (socket) => {
      const markConnected = (): void => {
        connected = true;
        clearTimeout(connectTimer);
      };
      // A reused keep-alive socket is connected already.
      if (!socket.connecting) markConnected();
      else socket.once(isHttps ? 'secureConnect' : 'connect', markConnected);
    });
    req.setTimeout(opts.idleTimeoutMs, () => {
      req.destroy(new TransportError(`no data from ${url.host} for ${opts.idleTimeoutMs} ms`));
    });
    req.on('error', (err) => {
      clearTimeout(connectTimer);
      reject(err instanceof KeelsonError ? err : new TransportError(`${url.host}: ${err.message}`, { cause: err }));
    });
    req.on('response', (res) => {
      clearTimeout(connectTimer);
      // The idle timeout keeps watching the body: a stalled stream errors instead of hanging.
      // The listener goes when the body ends: setTimeout(0) alone would leave it on the
      // keep-alive socket, one more (pinning its response) for every request it serves.
      const socket = res.socket;
      const onIdle = (): void => {
        res.destroy(new TransportError(`download from ${url.host} stalled: no data for ${opts.idleTimeoutMs} ms`));
      };
      socket.setTimeout(opts.idleTimeoutMs);
      socket.on('timeout', onIdle);
      const release = (): void => {
        socket.setTimeout(0);
        socket.off('timeout', onIdle);
      };
      res.once('end', release);
      res.once('close', release);
      resolve({ status: res.statusCode ?? 0, headers: res.headers, body: res, url });
    });
    req.end();
  });
}

/** Reads a whole body, refusing one larger than limit bytes (JSON documents from outside are bounded). */
export async function readBody(res: HttpResponse, limit: number, what: string): Promise<Buffer> {
  const declared = Number(res.headers['content-length'] ?? NaN);
  if (Number.isFinite(declared) && declared > limit) {
    res.body.destroy();
    throw new KeelsonError('ResourceExhausted', `${what} is ${declared} bytes, more than the limit of ${limit}`);
  }
  const chunks: Buffer[] = [];
  let total = 0;
  try {
    for await (const chunk of res.body as AsyncIterable<Buffer>) {
      total += chunk.length;
      if (total > limit) {
        res.body.destroy();
        throw new KeelsonError('ResourceExhausted', `${what} is more than the limit of ${limit} bytes`);
      }
      chunks.push(chunk);
    }
  } catch (err) {
    if (err instanceof KeelsonError) throw err;
    throw new TransportError(`reading ${what}: ${(err as Error).message}`, { cause: err });
  }
  return Buffer.concat(chunks);
}

/** Drains and discards a body so the socket can be reused. */
export function discard(res: HttpResponse): void {
  res.body.resume();
}
