// PluginProcess against a real child (a small node socket listener): start, log capture,
// restart with backoff after a crash, failing starts, stop.
import { readFileSync } from 'node:fs';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PluginProcess, type PluginProcessOptions } from '../../../src/csi/plugin-process.js';
import { FailedPreconditionError, InvalidArgumentError } from '../../../src/errors.js';

const LISTENER = fileURLToPath(new URL('../../fixtures/csi-plugin/socket-listener.mjs', import.meta.url));

let dir: string;
let plugins: PluginProcess[];
let pids: Set<number>;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') return false;
    throw err;
  }
}

function accepts(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = connect({ path });
    sock.once('connect', () => { sock.destroy(); resolve(true); });
    sock.once('error', () => resolve(false));
  });
}

async function until<T>(what: string, probe: () => T | undefined | null | false, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = probe();
    if (v !== undefined && v !== null && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function rejectionOf(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected a rejection');
}

function plugin(args: string[], extra: Partial<PluginProcessOptions> = {}): PluginProcess {
  const p = new PluginProcess({
    name: 'test.csi.example', binary: process.execPath, args: [LISTENER, ...args],
    endpoint: join(dir, 'plugins', 'csi.sock'), logFile: join(dir, 'logs', 'plugin.log'),
    log: pino({ level: 'silent' }), readyTimeoutMs: 10_000, ...extra,
  });
  plugins.push(p);
  return p;
}

function pidOf(p: PluginProcess): number {
  const pid = p.status().pid;
  if (pid === null) throw new Error('plugin has no pid');
  pids.add(pid);
  return pid;
}

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'keelson-csi-proc-'));
  plugins = [];
  pids = new Set();
});

afterEach(async () => {
  await Promise.all(plugins.map((p) => p.stop(2000)));
  for (const pid of pids) {
    if (alive(pid)) process.kill(pid, 'SIGKILL');
  }
  await rm(dir, { recursive: true, force: true });
});

describe('PluginProcess', () => {
  const endpoint = (): string => join(dir, 'plugins', 'csi.sock');
  const logFile = (): string => join(dir, 'logs', 'plugin.log');

  it('resolves start once the socket listens; stdout goes to the log file', async () => {
    const p = plugin([]);
    await p.start();
    const pid = pidOf(p);
    expect(await accepts(endpoint())).toBe(true);
    expect(p.status()).toMatchObject({ pid, running: true, restarts: 0, lastExit: null, nextRestartAt: null });
    expect(await readFileUntil(logFile(), `started ${pid}`)).toContain(`started ${pid}`);
    await expect(p.start()).rejects.toThrow(/already started/);
  });

  it('restarts a SIGKILLed child with a new pid; the socket accepts again', async () => {
    const attempts: number[] = [];
    const p = plugin([], { backoff: { initialMs: 100 }, onRestart: (n) => attempts.push(n) });
    await p.start();
    const first = pidOf(p);
    process.kill(first, 'SIGKILL');
    const exit = await until('exit recorded', () => p.status().lastExit);
    expect(exit).toMatchObject({ code: null, signal: 'SIGKILL' });
    await until('restart', () => p.status().restarts === 1);
    await p.waitReady(10_000);
    const second = pidOf(p);
    expect(second).not.toBe(first);
    expect(p.status()).toMatchObject({ running: true, restarts: 1, nextRestartAt: null });
    expect(attempts).toEqual([1]);
    expect(await accepts(endpoint())).toBe(true); // the killed run's stale socket was replaced
  });

  it('doubles the backoff on each crash, up to maxMs', async () => {
    const p = plugin(['--exit-after', '150'], { backoff: { initialMs: 100, maxMs: 400 } });
    await p.start();
    pidOf(p);
    // restart number -> its backoff, read while that restart is pending
    const delays = new Map<number, number>();
    await until('four scheduled restarts', () => {
      const st = p.status();
      if (st.pid !== null) pids.add(st.pid);
      if (st.nextRestartAt !== null && st.lastExit !== null) delays.set(st.restarts + 1, st.nextRestartAt - st.lastExit.at);
      return delays.size >= 4;
    }, 20_000);
    expect([1, 2, 3, 4].map((n) => delays.get(n))).toEqual([100, 200, 400, 400]);
    expect(p.status().lastExit).toMatchObject({ code: 3, signal: null });
  });

  it('keeps retrying a restart that fails to start, backing off each time', async () => {
    const marker = join(dir, 'broken');
    const p = plugin(['--fail-if-exists', marker], { backoff: { initialMs: 100, maxMs: 10_000 } });
    await p.start();
    await writeFile(marker, '');
    process.kill(pidOf(p), 'SIGKILL');
    // restarts 1 and 2 fail (exit 2): the third wait is 400 ms
    const st = await until('third backoff', () => {
      const s = p.status();
      return s.restarts === 2 && s.nextRestartAt !== null ? s : null;
    });
    expect(st.lastExit).toMatchObject({ code: 2 });
    expect(st.nextRestartAt! - st.lastExit!.at).toBe(400);
    await rm(marker);
    await p.waitReady(10_000);
    pidOf(p);
    expect(p.status().restarts).toBe(3);
  });

  it('rejects a binary that does not exist or is not executable, naming plugin and path', async () => {
    const missing = join(dir, 'no-such-plugin');
    const err = await rejectionOf(plugin([], { binary: missing }).start());
    expect(err).toBeInstanceOf(InvalidArgumentError);
    expect(err.message).toContain('test.csi.example');
    expect(err.message).toContain(missing);

    const plain = join(dir, 'not-executable');
    await writeFile(plain, '#!/bin/sh\n');
    await chmod(plain, 0o644);
    const err2 = await rejectionOf(plugin([], { binary: plain }).start());
    expect(err2).toBeInstanceOf(FailedPreconditionError);
    expect(err2.message).toContain(`${plain} is not executable`);
  });

  it('rejects start with exit code and log tail when the process exits before listening', async () => {
    const counter = join(dir, 'counter');
    const p = plugin(['--fail-first', '1', '--counter', counter], { backoff: { initialMs: 50 } });
    const err = await rejectionOf(p.start());
    expect(err).toBeInstanceOf(FailedPreconditionError);
    expect(err.message).toContain('exit code 2');
    expect(err.message).toContain('failing start 1 on purpose');
    // no supervision after a failed first start
    await new Promise((r) => setTimeout(r, 200));
    expect(p.status()).toMatchObject({ running: false, restarts: 0, nextRestartAt: null });
    expect(await readFile(counter, 'utf8')).toBe('1');
    // a second start succeeds (the fixture fails only its first start)
    await p.start();
    pidOf(p);
    expect(p.status().running).toBe(true);
  });

  it('rejects start after readyTimeoutMs when nothing listens, and kills the child', async () => {
    const p = plugin([], { binary: '/bin/sleep', args: ['30'], readyTimeoutMs: 300 });
    const err = await rejectionOf(p.start());
    expect(err.message).toContain('did not listen');
    expect(p.status()).toMatchObject({ running: false, pid: null });
    expect(p.status().lastExit?.signal).toBe('SIGTERM');
  });

  it('stop terminates the child, and no restart follows; repeat stop is a no-op', async () => {
    let restarted = false;
    const p = plugin([], { backoff: { initialMs: 50 }, onRestart: () => { restarted = true; } });
    await p.start();
    const pid = pidOf(p);
    await p.stop();
    expect(alive(pid)).toBe(false);
    expect(p.status()).toMatchObject({ pid: null, running: false, nextRestartAt: null });
    expect(p.status().lastExit).toMatchObject({ code: 0 });
    await p.stop();
    await new Promise((r) => setTimeout(r, 300));
    expect(restarted).toBe(false);
    await expect(p.waitReady(100)).rejects.toBeInstanceOf(FailedPreconditionError);
  });

  it('stop escalates to SIGKILL when the child ignores SIGTERM', async () => {
    const p = plugin(['--ignore-term']);
    await p.start();
    const pid = pidOf(p);
    await p.stop(300);
    expect(alive(pid)).toBe(false);
    expect(p.status().lastExit).toMatchObject({ signal: 'SIGKILL' });
  });

  it('stops and, after a crash, cleans up what the plugin started itself (its process group)', async () => {
    // A wrapper shell that starts the real listener in the background, as plugin launch scripts do.
    const childPidFile = join(dir, 'child.pid');
    const wrapper = (): PluginProcess => plugin([], {
      binary: '/bin/sh', args: ['-c', `${process.execPath} ${LISTENER} & echo $! > ${childPidFile}; wait`], backoff: { initialMs: 100 },
    });
    const childPid = async (): Promise<number> => {
      const pid = await until('the wrapper to start its child', () => Number(readFileSyncSafe(childPidFile)) || undefined);
      pids.add(pid);
      return pid;
    };
    const p = wrapper();
    await p.start();
    const firstChild = await childPid();
    await rm(childPidFile);
    // The wrapper dies: its child must not live on serving the socket; a new pair starts.
    process.kill(pidOf(p), 'SIGKILL');
    await until('the first child to be gone', () => !alive(firstChild));
    await until('restart', () => p.status().restarts === 1 && p.status().running);
    await p.waitReady(10_000);
    const secondChild = await childPid();
    expect(secondChild).not.toBe(firstChild);
    await p.stop();
    await until('the second child to be gone after stop', () => !alive(secondChild));
  });

  it('stop during a pending backoff cancels the restart', async () => {
    const p = plugin([], { backoff: { initialMs: 500 } });
    await p.start();
    process.kill(pidOf(p), 'SIGKILL');
    await until('restart scheduled', () => p.status().nextRestartAt !== null);
    await p.stop();
    await new Promise((r) => setTimeout(r, 700));
    expect(p.status()).toMatchObject({ restarts: 0, running: false, nextRestartAt: null });
  });
});

function readFileSyncSafe(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

async function readFileUntil(path: string, needle: string): Promise<string> {
  const deadline = Date.now() + 5000;
  for (;;) {
    const s = await readFile(path, 'utf8').catch(() => '');
    if (s.includes(needle) || Date.now() > deadline) return s;
    await new Promise((r) => setTimeout(r, 20));
  }
}
