// The streaming server's idle timeout: a session with no bytes either way is closed and its
// process ended, while one with traffic stays up. The backend runs host processes (no
// container is needed to see the server's behaviour); each writes its pid where runc exec
// would, so the server can kill it as it kills an exec'd process.
import { mkdtemp, rm } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../../src/logger.js';
import { StreamServer } from '../../../src/stream/server.js';
import { openSpdyStream, openWebSocket, sendChannel, spdyConnect } from '../../fixtures/stream-clients.js';
import { waitFor } from '../../fixtures/wait.js';

let dir = '';
let stream: StreamServer;
const pidFiles: string[] = [];

function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/\) Z /.test(stat); // a zombie is gone for our purposes
  } catch {
    return false;
  }
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'keelson-stream-idle-'));
  stream = new StreamServer({
    address: '127.0.0.1', port: 0, tokenTtlMs: 60_000, idleTimeoutMs: 1_000, log: createLogger('fatal'),
    backend: {
      execCommandLine: (_id, cmd, _tty, pidFile) => {
        pidFiles.push(pidFile);
        return Promise.resolve({ file: 'sh', args: ['-c', `echo $$ > ${pidFile}; exec ${cmd.join(' ')}`] });
      },
      attachTarget: () => Promise.reject(new Error('no containers here')),
      sandboxNetns: () => null,
    },
  });
  await stream.listen();
});

afterAll(async () => {
  for (const f of pidFiles) {
    try {
      process.kill(Number(readFileSync(f, 'utf8')), 'SIGKILL');
    } catch {
      // already gone (the point of the test)
    }
  }
  await stream?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('stream idle timeout', () => {
  it('closes a silent exec session and ends its process', async () => {
    const url = stream.urlFor({ kind: 'exec', containerId: 'c', cmd: ['sleep', '60'], tty: false, stdin: true, stdout: true, stderr: false });
    const started = Date.now();
    const seen = pidFiles.length; // this session's pid file is the next one, not the last test's
    const ws = await openWebSocket(url, ['v4.channel.k8s.io']);
    const closed = new Promise<number>((r) => ws.once('close', () => r(Date.now() - started)));
    const pidFile = await waitFor('the exec to start', () => pidFiles[seen]);
    const pid = await waitFor('its pid', () => Number(readFileSync(pidFile, 'utf8')) || undefined);
    expect(alive(pid)).toBe(true);
    const after = await closed;
    expect(after).toBeGreaterThanOrEqual(900);
    expect(after).toBeLessThan(10_000);
    await waitFor('the process to be ended', () => (alive(pid) ? undefined : true), 10_000);
  });

  it('closes a silent SPDY exec session too', async () => {
    const url = stream.urlFor({ kind: 'exec', containerId: 'c', cmd: ['sleep', '60'], tty: false, stdin: false, stdout: true, stderr: false });
    const started = Date.now();
    const seen = pidFiles.length;
    const { session } = await spdyConnect(url, ['v4.channel.k8s.io']);
    const closed = new Promise<number>((r) => session.once('close', () => r(Date.now() - started)));
    await openSpdyStream(session, { streamType: 'error' });
    await openSpdyStream(session, { streamType: 'stdout' });
    const pidFile = await waitFor('the exec to start', () => pidFiles[seen]);
    const pid = await waitFor('its pid', () => Number(readFileSync(pidFile, 'utf8')) || undefined);
    const after = await closed;
    expect(after).toBeGreaterThanOrEqual(900);
    expect(after).toBeLessThan(10_000);
    await waitFor('the process to be ended', () => (alive(pid) ? undefined : true), 10_000);
  });

  it('keeps a session that has traffic', async () => {
    const url = stream.urlFor({ kind: 'exec', containerId: 'c', cmd: ['cat'], tty: false, stdin: true, stdout: true, stderr: false });
    let out = '';
    const ws = await openWebSocket(url, ['v4.channel.k8s.io'], (d: Buffer) => { if (d[0] === 1) out += d.subarray(1).toString(); });
    let open = true;
    ws.once('close', () => { open = false; });
    for (let i = 0; i < 6; i++) { // 3 s of traffic every 500 ms, three idle timeouts long
      sendChannel(ws, 0, `line ${i}\n`);
      await new Promise((r) => setTimeout(r, 500));
    }
    expect(open).toBe(true);
    expect(out).toContain('line 5');
    ws.close();
  });
});
