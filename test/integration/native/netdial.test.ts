// dialTcpInNetns against a real listener inside a pinned network namespace (busybox nc run
// there by nsenter): the connection lands in that namespace and nowhere else, a closed port
// answers ECONNREFUSED, and no thread of this process is left in the pod's network.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import { Socket, createServer } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { NativeError, dialTcpInNetns, pinNamespaces, unpinNamespace } from '../../../src/native.js';

const PORT = 18431;

function threadNets(): string[] {
  return fs.readdirSync('/proc/self/task').flatMap((tid) => {
    try { return [fs.readlinkSync(`/proc/self/task/${tid}/ns/net`)]; } catch { return []; }
  });
}

async function listening(netns: string, port: number): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const out = execFileSync('nsenter', [`--net=${netns}`, '--', 'busybox', 'netstat', '-ltn']).toString();
    if (out.includes(`:${port} `)) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error('the listener did not start');
}

describe.skipIf(process.getuid?.() !== 0)('native dialTcpInNetns', () => {
  let tmp: string;
  let netns: string;
  let server: ChildProcess | null = null;

  beforeEach(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'keelson-dial-'));
    netns = path.join(tmp, 'net');
    await pinNamespaces({ net: netns });
    execFileSync('nsenter', [`--net=${netns}`, '--', 'ip', 'link', 'set', 'lo', 'up']);
  });

  afterEach(async () => {
    server?.kill('SIGKILL');
    server = null;
    await unpinNamespace(netns);
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('connects to 127.0.0.1:port inside the namespace and carries bytes both ways', async () => {
    // The same port on the host answers something else: the dial must not land there.
    const host = createServer((s) => s.end('host\n'));
    await new Promise<void>((r) => host.listen(PORT, '127.0.0.1', () => r()));
    try {
      server = spawn('nsenter', [`--net=${netns}`, '--', 'busybox', 'nc', '-l', '-p', String(PORT), '-e', 'sh', '-c', 'echo pod; read l; echo "got:$l"']);
      await listening(netns, PORT);
      const hostNet = fs.readlinkSync('/proc/self/ns/net');
      const fd = await dialTcpInNetns(netns, PORT, 5000);
      expect(threadNets().every((n) => n === hostNet)).toBe(true);
      const socket = new Socket({ fd, readable: true, writable: true });
      let text = '';
      socket.on('data', (d: Buffer) => {
        text += d.toString();
        if (text === 'pod\n') socket.write('hello\n');
      });
      await new Promise((r) => socket.on('close', r));
      expect(text).toBe('pod\ngot:hello\n');
    } finally {
      await new Promise((r) => host.close(r));
    }
  });

  it('a closed port is ECONNREFUSED; a bad namespace path fails at open', async () => {
    const refused = await dialTcpInNetns(netns, PORT, 5000).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(NativeError);
    expect(refused).toMatchObject({ code: 'ECONNREFUSED', syscall: 'connect' });
    await expect(dialTcpInNetns(path.join(tmp, 'missing'), PORT, 5000)).rejects.toMatchObject({ code: 'ENOENT', syscall: 'open' });
    await expect(dialTcpInNetns(netns, 0, 5000)).rejects.toThrow(RangeError);
  });

  it('null dials the host network', async () => {
    const host = createServer((s) => s.end('host\n'));
    await new Promise<void>((r) => host.listen(PORT, '127.0.0.1', () => r()));
    try {
      const socket = new Socket({ fd: await dialTcpInNetns(null, PORT, 5000), readable: true, writable: true });
      let text = '';
      socket.on('data', (d: Buffer) => { text += d.toString(); });
      await new Promise((r) => socket.on('close', r));
      expect(text).toBe('host\n');
    } finally {
      await new Promise((r) => host.close(r));
    }
  });
});
