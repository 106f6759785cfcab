// The registry HTTP client on a keep-alive socket: 200 requests leave no listener behind per
// request (each one pinned its response: MaxListenersExceededWarning in the daemon log).
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpRequest, readBody } from '../../../src/image/registry/http.js';

let server: Server;
let base: URL;

beforeAll(async () => {
  server = createServer((_req, res) => res.end('{"ok":true}'));
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  base = new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}/v2/`);
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

describe('registry HTTP client', () => {
  it('leaves no timeout listener per request on a reused keep-alive socket', async () => {
    const sockets = new Set<Socket>();
    for (let i = 0; i < 200; i++) {
      const res = await httpRequest(base, { connectTimeoutMs: 5_000, idleTimeoutMs: 30_000 });
      sockets.add(res.body.socket as Socket);
      expect((await readBody(res, 1024, 'answer')).toString()).toBe('{"ok":true}');
    }
    // All on one or very few sockets, each with at most node's own listener.
    expect(sockets.size).toBeLessThan(5);
    await new Promise((r) => setImmediate(r));
    for (const s of sockets) expect(s.listenerCount('timeout')).toBeLessThanOrEqual(1);
  });
});
