// Exec and port-forward through the real daemon: the CRI Exec/PortForward RPCs hand out URLs,
// and clients speaking WebSocket (v5/v4 channels) and SPDY/3.1 (keelson's framing as a
// client, the way client-go speaks it) drive a real pod from the registry fixture.
import { createHash, randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ContainerConfig, PodSandboxConfig } from '../../../src/cri/generated/cri-types.js';
import { makeTestNetwork, writeNetworkConfig, type TestNetwork } from '../../fixtures/cni.js';
import { spawn } from 'node:child_process';
import { CLI_PATH, runCli, startKeelson, type KeelsonDaemon } from '../../fixtures/daemon.js';
import { buildImage } from '../../fixtures/image-builder.js';
import { startRegistry, type Registry } from '../../fixtures/registry.js';
import { podConfig, unmountAllUnder } from '../../fixtures/sandbox.js';
import type { WebSocket } from 'ws';
import { collect, openSpdyStream, openWebSocket, sendChannel, spdyConnect, wsExec } from '../../fixtures/stream-clients.js';

const TOKEN_TTL_SECONDS = 3;
const BIG_BYTES = 50 * 1024 * 1024;
let registry: Registry;
let daemon: KeelsonDaemon;
let net: TestNetwork;
let image: string;
let podId = '';
let main = '';
let bigSha = '';
const logRoot = `/tmp/keelson-stream-logs-${randomBytes(4).toString('hex')}`;

function container(name: string, command: string[]): ContainerConfig {
  return { metadata: { name, attempt: 0 }, image: { image }, command, log_path: `${name}.log` };
}

async function execUrl(cmd: string[], opts: { tty?: boolean; stdin?: boolean; stderr?: boolean } = {}): Promise<string> {
  const r = await daemon.client.runtime.call('Exec', {
    container_id: main, cmd, tty: opts.tty ?? false, stdin: opts.stdin ?? false, stdout: true, stderr: opts.stderr ?? !opts.tty,
  });
  return r.url ?? '';
}

async function execSync(cmd: string[]): Promise<{ code: number; out: string }> {
  const r = await daemon.client.runtime.call('ExecSync', { container_id: main, cmd, timeout: '20' });
  return { code: r.exit_code ?? -1, out: (r.stdout ?? Buffer.alloc(0)).toString() };
}

async function until(what: string, fn: () => Promise<boolean> | boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await fn())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Body of an HTTP/1.0 response (headers cut off). */
function httpBody(raw: Buffer): Buffer {
  const end = raw.indexOf('\r\n\r\n');
  return end < 0 ? Buffer.alloc(0) : raw.subarray(end + 4);
}

/** A WebSocket port-forward client: each channel's bytes after its port prefix. */
async function wsPortForward(ports: number[]): Promise<{ ws: WebSocket; channels: Map<number, Buffer[]>; text: (channel: number) => string; closed: Promise<void> }> {
  const { url } = await daemon.client.runtime.call('PortForward', { pod_sandbox_id: podId, port: ports });
  const channels = new Map<number, Buffer[]>();
  const ws = await openWebSocket(url ?? '', ['v4.channel.k8s.io'], (data: Buffer) => {
    const channel = data[0] ?? -1;
    const seen = channels.get(channel);
    if (!seen) channels.set(channel, []); // the first frame of a channel is its port
    else seen.push(data.subarray(1));
  });
  const closed = new Promise<void>((resolve) => {
    if (ws.readyState === ws.CLOSED) resolve();
    ws.on('close', () => resolve());
  });
  const text = (channel: number): string => Buffer.concat(channels.get(channel) ?? []).toString();
  return { ws, channels, text, closed };
}

/** Starts a listener in the pod through exec (nc -l ... ); resolves once it listens, with the end of its session. */
async function listenInPod(port: number, command: string[]): Promise<{ exited: Promise<unknown> }> {
  const { url } = await daemon.client.runtime.call('Exec', { container_id: main, cmd: command, stdout: true });
  const exited = wsExec(url ?? '', 'v5.channel.k8s.io');
  await until(`a listener on ${port}`, async () => (await execSync(['netstat', '-ltn'])).out.includes(`:${port} `));
  return { exited };
}

beforeAll(async () => {
  registry = await startRegistry();
  const built = await buildImage({ config: { Env: ['PATH=/bin:/usr/bin:/sbin:/usr/sbin'], Cmd: ['sh'] } });
  const repo = `stream/busybox-${randomBytes(3).toString('hex')}`;
  await registry.push(repo, built, 'v1');
  image = `${registry.host}/${repo}:v1`;
  daemon = await startKeelson({ configToml: `[stream]\ntoken_ttl_seconds = ${TOKEN_TTL_SECONDS}\n` });
  net = makeTestNetwork(daemon.base);
  await writeNetworkConfig(daemon.cniConfDir, net);
  await daemon.client.image.call('PullImage', { image: { image } });
  const config: PodSandboxConfig = podConfig({ log_directory: join(logRoot, 'pod') });
  podId = (await daemon.client.runtime.call('RunPodSandbox', { config })).pod_sandbox_id ?? '';
  const created = await daemon.client.runtime.call('CreateContainer', {
    pod_sandbox_id: podId, sandbox_config: config,
    config: container('main', ['sh', '-c', `mkdir -p /www && head -c ${BIG_BYTES} /dev/urandom > /www/big && echo small > /www/small && exec httpd -f -p 8080 -h /www`]),
  });
  main = created.container_id ?? '';
  await daemon.client.runtime.call('StartContainer', { container_id: main });
  await until('httpd', async () => (await execSync(['wget', '-q', '-O', '-', 'http://127.0.0.1:8080/small'])).out === 'small\n');
  bigSha = (await execSync(['sha256sum', '/www/big'])).out.split(' ')[0] ?? '';
}, 120_000);

afterAll(async () => {
  if (daemon) {
    if (podId) {
      await daemon.client.runtime.call('StopPodSandbox', { pod_sandbox_id: podId }).catch(() => undefined);
      await daemon.client.runtime.call('RemovePodSandbox', { pod_sandbox_id: podId }).catch(() => undefined);
    }
    await daemon.stop();
    unmountAllUnder(daemon.base);
    await daemon.destroy();
  }
  net?.cleanup();
  await registry?.stop();
  execFileSync('rm', ['-rf', logRoot]);
});

describe('exec over WebSocket', () => {
  it('v5: stdin reaches the process, CLOSE ends its stdin, and the exit code comes back as a Status', async () => {
    const url = await execUrl(['sh', '-c', 'cat; echo to-stderr >&2; exit 3'], { stdin: true });
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/exec\/[A-Za-z0-9_-]+$/);
    const r = await wsExec(url, 'v5.channel.k8s.io', (ws) => {
      sendChannel(ws, 0, 'hello from stdin\n');
      ws.send(Buffer.from([255, 0]));
    });
    expect(r.stdout).toBe('hello from stdin\n');
    expect(r.stderr).toBe('to-stderr\n');
    expect(r.status).toMatchObject({ status: 'Failure', reason: 'NonZeroExitCode', details: { causes: [{ reason: 'ExitCode', message: '3' }] } });
  });

  it('v4: success is a Success status; a command that does not exist gives runc\'s exit code and message', async () => {
    const ok = await wsExec(await execUrl(['echo', 'hi']), 'v4.channel.k8s.io');
    expect(ok.stdout).toBe('hi\n');
    expect(ok.status).toEqual({ metadata: {}, status: 'Success' });
    const missing = await wsExec(await execUrl(['/no/such/binary']), 'v4.channel.k8s.io');
    expect(missing.status?.reason).toBe('NonZeroExitCode');
    expect(Number(missing.status?.details?.causes?.[0]?.message)).toBeGreaterThan(0);
    expect(missing.stderr).toMatch(/no such file or directory/i);
  });

  it('a TTY session sees stty size change after a resize', async () => {
    const url = await execUrl(['sh'], { tty: true, stdin: true });
    const r = await wsExec(url, 'v5.channel.k8s.io', async (ws, stdout) => {
      // Until the shell answers with the new size: a resize or a line sent before the shell
      // and its terminal are up is answered with the old size (or none), then comes again.
      const resizeUntil = async (what: string, width: number, height: number): Promise<void> => {
        const deadline = Date.now() + 30_000;
        while (!stdout().includes(`${height} ${width}`)) {
          if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; stdout so far: ${JSON.stringify(stdout())}`);
          sendChannel(ws, 4, JSON.stringify({ Width: width, Height: height }));
          sendChannel(ws, 0, 'stty size\n');
          await new Promise((res) => setTimeout(res, 700));
        }
      };
      await resizeUntil('first size', 101, 33);
      await resizeUntil('second size', 120, 47);
      sendChannel(ws, 0, 'exit 5\n');
    });
    expect(r.stdout).toContain('33 101');
    expect(r.stdout).toContain('47 120');
    expect(r.status?.details?.causes?.[0]?.message).toBe('5');
  });

  it('a TTY exec gets TERM=xterm and a plain one none, as containerd gives them', async () => {
    const tty = await wsExec(await execUrl(['env'], { tty: true }), 'v5.channel.k8s.io');
    expect(tty.stdout).toMatch(/^TERM=xterm\r?$/m);
    const plain = await wsExec(await execUrl(['env']), 'v5.channel.k8s.io');
    expect(plain.stdout).not.toMatch(/^TERM=/m);
    expect(plain.stdout).toMatch(/^PATH=/m);
  });

  it('runs ten concurrent sessions', async () => {
    const results = await Promise.all(Array.from({ length: 10 }, async (_, i) => {
      const url = await execUrl(['sh', '-c', `sleep 0.3; echo session-${i}`]);
      return wsExec(url, 'v5.channel.k8s.io');
    }));
    results.forEach((r, i) => {
      expect(r.stdout).toBe(`session-${i}\n`);
      expect(r.status?.status).toBe('Success');
    });
  });

  it('closing the WebSocket ends a process that reads stdin (nothing left running)', async () => {
    const marker = `reader-${randomBytes(3).toString('hex')}`;
    const url = await execUrl(['sh', '-c', `cat; echo ${marker}`], { stdin: true });
    const ws = await openWebSocket(url, ['v4.channel.k8s.io']);
    await until('the reader to run', async () => (await execSync(['ps', '-o', 'args'])).out.includes(marker));
    ws.close();
    await until('the reader to be gone', async () => !(await execSync(['ps', '-o', 'args'])).out.includes(marker));
  });
});

describe('exec over SPDY/3.1', () => {
  it('negotiates v4, streams stdin with FIN as EOF, and reports the exit code', async () => {
    const url = await execUrl(['sh', '-c', 'cat; exit 7'], { stdin: true });
    const { session, protocol } = await spdyConnect(url, ['v4.channel.k8s.io', 'v3.channel.k8s.io']);
    expect(protocol).toBe('v4.channel.k8s.io');
    const error = await openSpdyStream(session, { streamType: 'error' });
    const stdin = await openSpdyStream(session, { streamType: 'stdin' });
    const stdout = await openSpdyStream(session, { streamType: 'stdout' });
    const stderr = await openSpdyStream(session, { streamType: 'stderr' });
    const [out, err, status] = [collect(stdout), collect(stderr), collect(error)];
    stdin.write(Buffer.from('over spdy\n'));
    stdin.end();
    expect((await out).toString()).toBe('over spdy\n');
    expect((await err).toString()).toBe('');
    expect(JSON.parse((await status).toString())).toMatchObject({ status: 'Failure', reason: 'NonZeroExitCode', details: { causes: [{ reason: 'ExitCode', message: '7' }] } });
    session.close();
  });

  it('a TTY session resizes through the resize stream', async () => {
    const url = await execUrl(['sh'], { tty: true, stdin: true });
    const { session } = await spdyConnect(url, ['v4.channel.k8s.io']);
    const error = await openSpdyStream(session, { streamType: 'error' });
    const stdin = await openSpdyStream(session, { streamType: 'stdin' });
    const stdout = await openSpdyStream(session, { streamType: 'stdout' });
    const resize = await openSpdyStream(session, { streamType: 'resize' });
    let text = '';
    stdout.on('data', (d: Buffer) => { text += d.toString(); });
    const status = collect(error);
    // As in the WebSocket test: a line the shell reads before its terminal has the new size is
    // answered with the old one, so the resize and the question come again until it answers.
    let lastAsked = 0;
    await until('the size', () => {
      if (text.includes('22 77')) return true;
      if (Date.now() - lastAsked > 700) {
        lastAsked = Date.now();
        resize.write(Buffer.from(JSON.stringify({ Width: 77, Height: 22 })));
        stdin.write(Buffer.from('stty size\n'));
      }
      return false;
    }, 30_000);
    stdin.write(Buffer.from('exit 0\n'));
    expect(JSON.parse((await status).toString())).toEqual({ metadata: {}, status: 'Success' });
    session.close();
  });

  it('refuses protocols it does not speak with 403 and the accepted list', async () => {
    const url = await execUrl(['true']);
    await expect(spdyConnect(url, ['v9.channel.k8s.io'])).rejects.toThrow('HTTP 403');
  });
});

describe('port-forward', () => {
  it('WebSocket: a 50 MB download arrives with the same sha256', async () => {
    const { url } = await daemon.client.runtime.call('PortForward', { pod_sandbox_id: podId, port: [8080] });
    const chunks: Buffer[] = [];
    const prefixes: Array<[number, number]> = [];
    const errors: string[] = [];
    const ws = await openWebSocket(url ?? '', ['v4.channel.k8s.io'], (data: Buffer) => {
      const channel = data[0] ?? -1;
      if (!prefixes.some(([c]) => c === channel)) { prefixes.push([channel, data.readUInt16LE(1)]); return; }
      if (channel === 0) chunks.push(data.subarray(1));
      if (channel === 1) errors.push(data.subarray(1).toString());
    });
    const closed = new Promise<void>((resolve) => ws.on('close', () => resolve()));
    sendChannel(ws, 0, 'GET /big HTTP/1.0\r\n\r\n');
    await closed;
    expect(prefixes).toEqual([[0, 8080], [1, 8080]]);
    expect(errors).toEqual([]);
    const body = httpBody(Buffer.concat(chunks));
    expect(body.length).toBe(BIG_BYTES);
    expect(createHash('sha256').update(body).digest('hex')).toBe(bigSha);
  });

  it('SPDY: a 50 MB download and concurrent connections on one session', async () => {
    const { url } = await daemon.client.runtime.call('PortForward', { pod_sandbox_id: podId, port: [8080] });
    const { session, protocol } = await spdyConnect(url ?? '', ['portforward.k8s.io']);
    expect(protocol).toBe('portforward.k8s.io');
    const fetch = async (requestID: number, path: string): Promise<Buffer> => {
      const error = await openSpdyStream(session, { streamType: 'error', port: '8080', requestID: String(requestID) });
      const data = await openSpdyStream(session, { streamType: 'data', port: '8080', requestID: String(requestID) });
      const body = collect(data);
      const errors = collect(error);
      data.write(Buffer.from(`GET ${path} HTTP/1.0\r\n\r\n`));
      const raw = await body;
      expect((await errors).toString()).toBe('');
      return httpBody(raw);
    };
    const [big, ...smalls] = await Promise.all([fetch(0, '/big'), ...Array.from({ length: 5 }, (_, i) => fetch(i + 1, '/small'))]);
    expect(createHash('sha256').update(big as Buffer).digest('hex')).toBe(bigSha);
    for (const s of smalls) expect(s.toString()).toBe('small\n');
    session.close();
  });

  it('SPDY: a 20 MB upload arrives whole in the pod (the session pauses for a slow reader)', async () => {
    const upload = randomBytes(20 * 1024 * 1024);
    const { url: execURL } = await daemon.client.runtime.call('Exec', { container_id: main, cmd: ['nc', '-l', '-p', '9000', '-e', 'sh', '-c', 'cat > /tmp/upload'], stdout: true });
    const listener = wsExec(execURL ?? '', 'v5.channel.k8s.io');
    await until('the listener', async () => (await execSync(['netstat', '-ltn'])).out.includes(':9000'));
    const { url } = await daemon.client.runtime.call('PortForward', { pod_sandbox_id: podId, port: [9000] });
    const { session } = await spdyConnect(url ?? '', ['portforward.k8s.io']);
    const error = await openSpdyStream(session, { streamType: 'error', port: '9000', requestID: '0' });
    const data = await openSpdyStream(session, { streamType: 'data', port: '9000', requestID: '0' });
    const errors = collect(error);
    for (let off = 0; off < upload.length; off += 1 << 20) data.write(upload.subarray(off, off + (1 << 20)));
    data.end();
    expect((await listener).status?.status).toBe('Success');
    expect((await errors).toString()).toBe('');
    expect((await execSync(['wc', '-c', '/tmp/upload'])).out.trim()).toBe(`${upload.length} /tmp/upload`);
    const sum = (await execSync(['sha256sum', '/tmp/upload'])).out.split(' ')[0];
    expect(sum).toBe(createHash('sha256').update(upload).digest('hex'));
    session.close();
  });

  it('WebSocket: with several ports, each forward lives on its own and the socket closes when all are done', async () => {
    const late = await listenInPod(9101, ['nc', '-l', '-p', '9101', '-e', 'sh', '-c', 'sleep 1; echo late']);
    const pf = await wsPortForward([8080, 9101]);
    sendChannel(pf.ws, 0, 'GET /small HTTP/1.0\r\n\r\n');
    await pf.closed;
    await late.exited;
    expect(httpBody(Buffer.from(pf.text(0))).toString()).toBe('small\n');
    expect(pf.text(2)).toBe('late\n');
    expect([pf.text(1), pf.text(3)]).toEqual(['', '']);
  });

  it('WebSocket: a pod that dies while the client is held back releases it, and the forward goes on', async () => {
    // Port 9102 accepts and never reads until it is killed; 9105 of the same forward is a
    // healthy peer. Kernel buffers here grow to 32 MiB (tcp_rmem), so a fixed upload may never
    // back up: the client pumps until its own queue (ws.bufferedAmount, bytes its kernel socket
    // would not take) stays put, which happens only once every buffer on the way is full and
    // the daemon stopped reading the WebSocket.
    const tag = randomBytes(3).toString('hex');
    const pidFile = `/tmp/pf-held-${tag}`;
    const healthyFile = `/tmp/pf-healthy-${tag}`;
    const dying = await listenInPod(9102, ['nc', '-l', '-p', '9102', '-e', 'sh', '-c', `echo $$ > ${pidFile}; exec sleep 3600`]);
    const healthy = await listenInPod(9105, ['sh', '-c', `nc -l -p 9105 > ${healthyFile}`]);
    const pf = await wsPortForward([9102, 9105]);
    const chunk = randomBytes(512 * 1024);
    const HELD = 4 * 1024 * 1024;
    let sent = 0;
    let last = -1;
    let still = 0; // polls (50 ms apart) in a row that saw the client's queue not move
    await until('the client to be held back', () => {
      while (pf.ws.bufferedAmount < HELD && sent < 1024 * 1024 * 1024) {
        sendChannel(pf.ws, 0, chunk);
        sent += chunk.length;
      }
      const now = pf.ws.bufferedAmount;
      still = now >= HELD && now === last ? still + 1 : 0;
      last = now;
      return still >= 5;
    }, 25_000);
    // Behind the held bytes: a message for the healthy port, which cannot get through yet.
    sendChannel(pf.ws, 2, `after ${tag}\n`);
    const pid = (await execSync(['cat', pidFile])).out.trim();
    expect(pid).toMatch(/^\d+$/);
    expect((await execSync(['kill', '-9', pid])).code).toBe(0);
    await dying.exited;
    // The dead connection's forward ends and releases the WebSocket: the daemon reads on,
    // dropping what was held for it, and the healthy port gets its message.
    await until('the healthy port to get the message sent behind the held bytes', async () => (await execSync(['cat', healthyFile])).out === `after ${tag}\n`, 25_000);
    pf.ws.close();
    await pf.closed;
    await healthy.exited;
  });

  it('WebSocket: after the pod half-closes, what the client still sends reaches the pod', async () => {
    const file = `/tmp/half-${randomBytes(3).toString('hex')}`;
    const server = await listenInPod(9103, ['sh', '-c', `echo hi | nc -l -p 9103 > ${file}`]);
    const pf = await wsPortForward([9103]);
    await until('the pod\'s greeting', () => pf.text(0) === 'hi\n');
    sendChannel(pf.ws, 0, 'after the FIN\n');
    await pf.closed; // the forward ends on its own, 1 s after the pod's FIN
    await server.exited;
    expect((await execSync(['cat', file])).out).toBe('after the FIN\n');
    expect(pf.text(1)).toBe('');
  });

  it('SPDY: the pod\'s half-close ends the data stream toward the client, whose data still reaches the pod', async () => {
    const file = `/tmp/half-${randomBytes(3).toString('hex')}`;
    const server = await listenInPod(9104, ['sh', '-c', `echo hi | nc -l -p 9104 > ${file}`]);
    const { url } = await daemon.client.runtime.call('PortForward', { pod_sandbox_id: podId, port: [9104] });
    const { session } = await spdyConnect(url ?? '', ['portforward.k8s.io']);
    const error = await openSpdyStream(session, { streamType: 'error', port: '9104', requestID: '0' });
    const data = await openSpdyStream(session, { streamType: 'data', port: '9104', requestID: '0' });
    const errors = collect(error);
    let text = '';
    data.on('data', (d: Buffer) => { text += d.toString(); });
    await new Promise<void>((resolve) => data.once('end', () => resolve()));
    expect(text).toBe('hi\n');
    data.write(Buffer.from('after the FIN\n'));
    data.end();
    await server.exited;
    expect((await errors).toString()).toBe('');
    expect((await execSync(['cat', file])).out).toBe('after the FIN\n');
    session.close();
  });

  it('SPDY: a closed port is reported on the error stream', async () => {
    const { url } = await daemon.client.runtime.call('PortForward', { pod_sandbox_id: podId, port: [] });
    const { session } = await spdyConnect(url ?? '', ['portforward.k8s.io']);
    const error = await openSpdyStream(session, { streamType: 'error', port: '9', requestID: '0' });
    const data = await openSpdyStream(session, { streamType: 'data', port: '9', requestID: '0' });
    void collect(data);
    const message = JSON.parse((await collect(error)).toString()) as { message: string };
    expect(message.message).toContain('error forwarding port 9');
    session.close();
  });
});

describe('tokens', () => {
  it('a reused, expired or unknown token gets 404 and runs nothing; a plain GET gets 400', async () => {
    const marker = `/tmp/ran-${randomBytes(3).toString('hex')}`;
    const url = await execUrl(['sh', '-c', `echo x >> ${marker}`]);
    expect((await wsExec(url, 'v5.channel.k8s.io')).status?.status).toBe('Success');
    await expect(openWebSocket(url, ['v5.channel.k8s.io'])).rejects.toThrow('HTTP 404');
    await expect(spdyConnect(url, ['v4.channel.k8s.io'])).rejects.toThrow('HTTP 404');
    expect((await execSync(['wc', '-l', marker])).out.trim()).toMatch(/^1 /);

    const late = await execUrl(['sh', '-c', `echo late >> ${marker}`]);
    await new Promise((r) => setTimeout(r, TOKEN_TTL_SECONDS * 1000 + 300));
    await expect(openWebSocket(late, ['v5.channel.k8s.io'])).rejects.toThrow('HTTP 404');
    await expect(openWebSocket(late.replace(/[^/]+$/, 'bogus-token'), ['v5.channel.k8s.io'])).rejects.toThrow('HTTP 404');
    expect((await execSync(['wc', '-l', marker])).out.trim()).toMatch(/^1 /);

    const fresh = await execUrl(['true']);
    const res = await fetch(fresh);
    expect(res.status).toBe(400);
  });

  it('Exec and PortForward validate their requests', async () => {
    await expect(daemon.client.runtime.call('Exec', { container_id: main, cmd: [], stdout: true })).rejects.toMatchObject({ code: 3 });
    await expect(daemon.client.runtime.call('Exec', { container_id: main, cmd: ['sh'], tty: true, stdout: true, stderr: true })).rejects.toMatchObject({ code: 3 });
    await expect(daemon.client.runtime.call('Exec', { container_id: 'nope', cmd: ['sh'], stdout: true })).rejects.toMatchObject({ code: 5 });
    await expect(daemon.client.runtime.call('PortForward', { pod_sandbox_id: podId, port: [70000] })).rejects.toMatchObject({ code: 3 });
    await expect(daemon.client.runtime.call('PortForward', { pod_sandbox_id: 'nope', port: [80] })).rejects.toMatchObject({ code: 5 });
  });
});

describe('CLI', () => {
  it('keelson exec resolves a container by name and exits with the command\'s code', async () => {
    const r = await runCli(['exec', '--socket', daemon.socket, 'main', '--', 'sh', '-c', 'echo out; echo err >&2; exit 4']);
    expect(r.stdout).toBe('out\n');
    expect(r.stderr).toBe('err\n');
    expect(r.code).toBe(4);
    const missing = await runCli(['exec', '--socket', daemon.socket, 'no-such-container', '--', 'true']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('no pod or container named');
  });

  it('keelson port-forward serves a local port until stopped', async () => {
    const pods = await daemon.client.runtime.call('ListPodSandbox', {});
    const name = pods.items?.[0]?.metadata?.name ?? '';
    const child = spawn(process.execPath, [CLI_PATH, 'port-forward', '--socket', daemon.socket, name, '0:8080'], { stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      const port = await new Promise<number>((resolve, reject) => {
        let out = '';
        child.stdout.on('data', (d: Buffer) => {
          out += d.toString();
          const m = /Forwarding from 127\.0\.0\.1:(\d+)/.exec(out);
          if (m) resolve(Number(m[1]));
        });
        child.once('exit', (code) => reject(new Error(`port-forward exited ${code}`)));
      });
      for (let i = 0; i < 3; i++) {
        const res = await fetch(`http://127.0.0.1:${port}/small`);
        expect(await res.text()).toBe('small\n');
      }
    } finally {
      child.kill('SIGTERM');
    }
  });
});

describe('attach', () => {
  async function startInPod(name: string, command: string[], extra: Partial<ContainerConfig>): Promise<string> {
    const status = await daemon.client.runtime.call('PodSandboxStatus', { pod_sandbox_id: podId });
    const config = podConfig({ metadata: status.status?.metadata ?? null, log_directory: join(logRoot, 'pod') });
    const { container_id: id } = await daemon.client.runtime.call('CreateContainer', {
      pod_sandbox_id: podId, sandbox_config: config, config: { ...container(name, command), ...extra },
    });
    await daemon.client.runtime.call('StartContainer', { container_id: id ?? '' });
    return id ?? '';
  }

  it('WebSocket: sees the main process\'s output and sends it input', async () => {
    const id = await startInPod('echoer', ['sh', '-c', 'while read line; do echo "got:$line"; echo "err:$line" >&2; done'], { stdin: true });
    const { url } = await daemon.client.runtime.call('Attach', { container_id: id, stdin: true, stdout: true, stderr: true });
    expect(url).toMatch(/\/attach\//);
    let out = '', err = '';
    const ws = await openWebSocket(url ?? '', ['v5.channel.k8s.io'], (d: Buffer) => {
      if (d[0] === 1) out += d.subarray(1).toString();
      if (d[0] === 2) err += d.subarray(1).toString();
    });
    sendChannel(ws, 0, 'hello\n');
    await until('the echo', () => out.includes('got:hello') && err.includes('err:hello'));
    sendChannel(ws, 0, 'again\n');
    await until('the second echo', () => out.includes('got:again'));
    ws.close();
    // Leaving the attach does not stop the container.
    const s = await daemon.client.runtime.call('ContainerStatus', { container_id: id });
    expect(s.status?.state).toBe('CONTAINER_RUNNING');
  });

  it('WebSocket v5: closing stdin reaches a stdin_once container as EOF while its output keeps coming', async () => {
    const id = await startInPod('reader', ['sh', '-c', 'cat; echo "stdin ended"; sleep 30'], { stdin: true, stdin_once: true });
    const { url } = await daemon.client.runtime.call('Attach', { container_id: id, stdin: true, stdout: true });
    let out = '';
    const ws = await openWebSocket(url ?? '', ['v5.channel.k8s.io'], (d: Buffer) => {
      if (d[0] === 1) out += d.subarray(1).toString();
    });
    sendChannel(ws, 0, 'first line\n');
    await until('the echo of the first line', () => out.includes('first line'));
    sendChannel(ws, 255, Buffer.from([0])); // v5 CLOSE of stream 0 (stdin)
    await until('cat to see end-of-file', () => out.includes('stdin ended'));
    ws.close();
  });

  it('a non-TTY attach to a container without stdin_once ends when the client\'s stdin ends; the container keeps running', async () => {
    const id = await startInPod('keeps-stdin', ['sh', '-c', 'while read line; do echo "got:$line"; done; echo "stdin ended"; sleep 30'], { stdin: true, stdin_once: false });
    const { url } = await daemon.client.runtime.call('Attach', { container_id: id, stdin: true, stdout: true });
    let out = '', status = '';
    const ws = await openWebSocket(url ?? '', ['v5.channel.k8s.io'], (d: Buffer) => {
      if (d[0] === 1) out += d.subarray(1).toString();
      if (d[0] === 3) status += d.subarray(1).toString();
    });
    const closed = new Promise<void>((resolve) => ws.on('close', () => resolve()));
    sendChannel(ws, 0, 'one\n');
    await until('the echo', () => out.includes('got:one'));
    sendChannel(ws, 255, Buffer.from([0])); // v5 CLOSE of stdin, as piped `kubectl attach -i` at EOF
    let ended = false;
    void closed.then(() => { ended = true; });
    await until('the attach to end', () => ended, 10_000);
    expect(JSON.parse(status)).toEqual({ metadata: {}, status: 'Success' });
    // conmon kept the container's stdin open (--leave-stdin-open): it never saw end-of-file.
    expect(out).not.toContain('stdin ended');
    const s = await daemon.client.runtime.call('ContainerStatus', { container_id: id });
    expect(s.status?.state).toBe('CONTAINER_RUNNING');
  });

  it('SPDY: a TTY container\'s terminal is resized through conmon', async () => {
    const id = await startInPod('terminal', ['sh'], { stdin: true, tty: true });
    const { url } = await daemon.client.runtime.call('Attach', { container_id: id, stdin: true, stdout: true, tty: true });
    const { session } = await spdyConnect(url ?? '', ['v4.channel.k8s.io']);
    await openSpdyStream(session, { streamType: 'error' });
    const stdin = await openSpdyStream(session, { streamType: 'stdin' });
    const stdout = await openSpdyStream(session, { streamType: 'stdout' });
    const resize = await openSpdyStream(session, { streamType: 'resize' });
    let text = '';
    stdout.on('data', (d: Buffer) => { text += d.toString(); });
    resize.write(Buffer.from(JSON.stringify({ Width: 90, Height: 31 })));
    await new Promise((r) => setTimeout(r, 200));
    stdin.write(Buffer.from('stty size\n'));
    await until('the size', () => text.includes('31 90'));
    session.close();
  });

  it('keelson attach shows a running container\'s output', async () => {
    await startInPod('ticker', ['sh', '-c', 'while true; do echo tick; sleep 0.2; done'], {});
    const child = spawn(process.execPath, [CLI_PATH, 'attach', '--socket', daemon.socket, 'ticker'], { stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      let out = '';
      child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
      await until('ticks through the CLI', () => out.includes('tick\ntick\n'));
    } finally {
      child.kill('SIGTERM');
    }
  });

  it('refuses stdin for a container created without it', async () => {
    await expect(daemon.client.runtime.call('Attach', { container_id: main, stdin: true, stdout: true })).rejects.toMatchObject({ code: 9 });
  });
});
