// The streaming server with a TLS certificate (self-signed, made by openssl for this run):
// the URLs are https, and a WebSocket port-forward through it reaches a host-network pod
// (netns null: the relay runs busybox nc on the host) at a real TCP server on 127.0.0.1.
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { createLogger } from '../../../src/logger.js';
import { StreamServer } from '../../../src/stream/server.js';

let dir = '';
let stream: StreamServer;
let echo: Server;
let echoPort = 0;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'keelson-stream-tls-'));
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1',
    '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { stdio: 'ignore' });
  echo = createServer((s) => s.on('data', (d: Buffer) => s.write(Buffer.concat([Buffer.from('echo:'), d]))));
  await new Promise<void>((r) => echo.listen(0, '127.0.0.1', () => r()));
  echoPort = (echo.address() as { port: number }).port;
  stream = new StreamServer({
    address: '127.0.0.1', port: 0, tlsCertFile: join(dir, 'cert.pem'), tlsKeyFile: join(dir, 'key.pem'),
    tokenTtlMs: 60_000, log: createLogger('fatal'),
    backend: {
      execCommandLine: () => Promise.reject(new Error('no containers here')),
      attachTarget: () => Promise.reject(new Error('no containers here')),
      sandboxNetns: () => null,
    },
  });
  await stream.listen();
});

afterAll(async () => {
  await stream?.close();
  echo?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('streaming server over TLS', () => {
  it('hands out https URLs and forwards a port through wss', async () => {
    const url = stream.urlFor({ kind: 'portforward', sandboxId: 'host-pod', ports: [echoPort] });
    expect(url).toMatch(/^https:\/\/127\.0\.0\.1:\d+\/portforward\//);
    const ws = new WebSocket(url.replace(/^https/, 'wss'), ['v4.channel.k8s.io'], { rejectUnauthorized: false });
    let data = '';
    let seen = 0;
    ws.on('message', (m: Buffer) => {
      if (m[0] === 0 && seen++ > 0) data += m.subarray(1).toString();
    });
    await new Promise((r, j) => { ws.once('open', r); ws.once('error', j); });
    ws.send(Buffer.concat([Buffer.from([0]), Buffer.from('ping')]));
    const deadline = Date.now() + 10_000;
    while (!data.includes('echo:ping') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(data).toBe('echo:ping');
    ws.close();
  });

  it('refuses an exec whose process cannot start with an InternalError Status, not a crash', async () => {
    const url = stream.urlFor({ kind: 'exec', containerId: 'x', cmd: ['true'], tty: false, stdin: false, stdout: true, stderr: false });
    const ws = new WebSocket(url.replace(/^https/, 'wss'), ['v4.channel.k8s.io'], { rejectUnauthorized: false });
    let status = '';
    ws.on('message', (m: Buffer) => { if (m[0] === 3) status += m.subarray(1).toString(); });
    await new Promise((r) => ws.once('close', r));
    expect(JSON.parse(status)).toMatchObject({ status: 'Failure', reason: 'InternalError', message: expect.stringContaining('no containers here') });
  });
});
