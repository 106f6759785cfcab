// connectSeqpacket against a real SOCK_SEQPACKET listener (python's socket module, as Node
// cannot make one) under a directory path longer than sun_path's 108 bytes.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, readSync, writeSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { connectSeqpacket, NativeError } from '../../../src/native.js';

let dir = '';
let server: ChildProcess | null = null;
afterEach(async () => {
  server?.kill('SIGKILL');
  server = null;
  if (dir) await rm(dir, { recursive: true, force: true });
});

const ECHO_SERVER = `
import socket, sys, os
s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
os.chdir(sys.argv[1])
s.bind('attach'); s.listen(1)
print('ready', flush=True)
c, _ = s.accept()
while True:
    m = c.recv(8192)
    if not m: break
    c.send(b'\\x02' + m)
`;

async function readPacket(fd: number): Promise<Buffer> {
  const buf = Buffer.alloc(8193);
  for (let i = 0; i < 200; i++) {
    try {
      const n = readSync(fd, buf, 0, buf.length, null);
      return buf.subarray(0, n);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') throw err;
      await new Promise((r) => setTimeout(r, 10));
    }
  }
  throw new Error('no packet');
}

describe('connectSeqpacket', () => {
  it('connects under a long path and keeps packet boundaries', async () => {
    dir = await mkdtemp(join(tmpdir(), 'keelson-seqpacket-'));
    const deep = join(dir, 'a'.repeat(60), 'b'.repeat(60));
    mkdirSync(deep, { recursive: true });
    server = spawn('python3', ['-c', ECHO_SERVER, deep], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve) => server?.stdout?.once('data', () => resolve()));
    expect(existsSync(join(deep, 'attach'))).toBe(true);
    const fd = connectSeqpacket(deep, 'attach');
    try {
      writeSync(fd, Buffer.from('one'));
      writeSync(fd, Buffer.from('two'));
      expect((await readPacket(fd)).toString()).toBe('\x02one');
      expect((await readPacket(fd)).toString()).toBe('\x02two');
    } finally {
      closeSync(fd);
    }
  });

  it('names the path when nothing listens, and refuses a name with a slash', async () => {
    dir = await mkdtemp(join(tmpdir(), 'keelson-seqpacket-'));
    expect(() => connectSeqpacket(dir, 'attach')).toThrow(NativeError);
    expect(() => connectSeqpacket(dir, 'a/b')).toThrow(/must not contain/);
  });
});
