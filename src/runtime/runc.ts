// Driver of the runc command line (crun accepts the same): state, start, kill, delete, exec,
// update, pause/resume and checkpoint. `create` goes through conmon (src/container/conmon.ts), which runs runc itself.
// Every call names keelson's own runtime root, so the host's default root is never touched.

import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { KeelsonError } from '../errors.js';
import { killProcessTree, pidNamespaceOf } from './process-tree.js';
import type { ExecOptions, ExecResult, RuntimeStatus } from './runtime.js';

export class RuncCli {
  /** @param scratchDir where per-call files (pid files, resources JSON) go: keelson's own, emptied at start */
  constructor(readonly binary: string, readonly root: string, readonly scratchDir: string = tmpdir()) {}

  /** A fresh dir for one call's files (the scratch dir itself made on first use). */
  async #scratch(prefix: string): Promise<string> {
    await mkdir(this.scratchDir, { recursive: true, mode: 0o700 });
    return mkdtemp(join(this.scratchDir, prefix));
  }

  /** The arguments that come before the subcommand. */
  globalArgs(): string[] {
    return ['--root', this.root];
  }

  private async run(args: string[], timeoutMs = 60_000): Promise<string> {
    const result = await execa(this.binary, [...this.globalArgs(), ...args], {
      reject: false, timeout: timeoutMs, stdin: 'ignore', all: true,
    });
    if (result.exitCode !== 0 || result.timedOut) {
      const why = result.timedOut ? `timed out after ${timeoutMs} ms` : (result.all ?? '').trim();
      throw new KeelsonError('Internal', `${this.binary} ${args[0]} failed: ${why}`);
    }
    return result.stdout;
  }

  async state(id: string): Promise<{ status: RuntimeStatus; pid: number } | null> {
    const result = await execa(this.binary, [...this.globalArgs(), 'state', id], { reject: false, stdin: 'ignore' });
    if (result.exitCode !== 0) {
      if (/does not exist|not found/i.test(result.stderr)) return null;
      throw new KeelsonError('Internal', `${this.binary} state ${id} failed: ${result.stderr.trim()}`);
    }
    const parsed = JSON.parse(result.stdout) as { status: RuntimeStatus; pid: number };
    return { status: parsed.status, pid: parsed.pid };
  }

  async start(id: string): Promise<void> {
    await this.run(['start', id]);
  }

  async kill(id: string, signal: string): Promise<void> {
    await this.run(['kill', id, signal]);
  }

  /** runc and crun keep one directory per container under --root, from create to delete. */
  hasRecord(id: string): boolean {
    return existsSync(join(this.root, id));
  }

  async delete(id: string): Promise<void> {
    const result = await execa(this.binary, [...this.globalArgs(), 'delete', '--force', id], {
      reject: false, stdin: 'ignore', all: true,
    });
    if (result.exitCode !== 0 && !/does not exist|not found/i.test(result.all ?? '')) {
      throw new KeelsonError('Internal', `${this.binary} delete ${id} failed: ${(result.all ?? '').trim()}`);
    }
  }

  async update(id: string, resources: object): Promise<void> {
    const dir = await this.#scratch('keelson-update-');
    try {
      const file = join(dir, 'resources.json');
      await writeFile(file, JSON.stringify(resources));
      await this.run(['update', '--resources', file, id]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  async pause(id: string): Promise<void> {
    await this.run(['pause', id]);
  }

  async resume(id: string): Promise<void> {
    await this.run(['resume', id]);
  }

  /**
   * `runc checkpoint`: CRIU dumps the container's processes into imagePath (dump.log and
   * stats-dump land in workPath). No --tcp-established or --file-locks: CRI-O passes neither,
   * so a container holding established TCP connections or file locks fails to checkpoint
   * rather than being dumped in a state a restore could not reproduce.
   */
  async checkpoint(id: string, opts: { imagePath: string; workPath: string; leaveRunning: boolean; timeoutMs: number }): Promise<void> {
    await this.run([
      'checkpoint', '--image-path', opts.imagePath, '--work-path', opts.workPath,
      ...(opts.leaveRunning ? ['--leave-running'] : []), id,
    ], opts.timeoutMs);
  }

  /** The command line of an interactive `runc exec` (the streaming server runs it). */
  execCommandLine(id: string, cmd: string[], tty: boolean, pidFile: string): { file: string; args: string[] } {
    // A terminal gets TERM=xterm, as containerd gives a TTY exec.
    return { file: this.binary, args: [...this.globalArgs(), 'exec', ...(tty ? ['--tty', '--env', 'TERM=xterm'] : []), '--pid-file', pidFile, id, ...cmd] };
  }

  /**
   * `runc exec` of one command with the container's process settings. On timeout the
   * exec'd process and everything it started are killed by host pid (runc cannot forward
   * SIGKILL): its tree by parent pid, and what left the tree (setsid and double fork,
   * re-parented to the container's init) by the KEELSON_EXEC_ID mark its environment
   * inherits. runc itself is left to reap the process and exit, so no zombie stays behind
   * under a container init that does not reap (busybox top, as in the CRI validation suite).
   */
  async exec(id: string, opts: ExecOptions): Promise<ExecResult> {
    const dir = await this.#scratch('keelson-exec-');
    const pidFile = join(dir, 'pid');
    const mark = `${EXEC_MARK}=${randomBytes(16).toString('hex')}`;
    try {
      const child = spawn(this.binary, [...this.globalArgs(), 'exec', '--env', mark, '--pid-file', pidFile, id, ...opts.cmd], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      const stdout = new BoundedBuffer(opts.maxOutputBytes);
      const stderr = new BoundedBuffer(opts.maxOutputBytes);
      child.stdout.on('data', (d: Buffer) => stdout.push(d));
      child.stderr.on('data', (d: Buffer) => stderr.push(d));
      let timedOut = false;
      let runcKill: NodeJS.Timeout | null = null;
      const timer = opts.timeoutMs > 0 ? setTimeout(() => {
        timedOut = true;
        void this.#killExec(id, pidFile, mark, child).finally(() => {
          runcKill = setTimeout(() => child.kill('SIGKILL'), RUNC_REAP_GRACE_MS);
        });
      }, opts.timeoutMs) : null;
      const exitCode = await new Promise<number>((resolve, reject) => {
        child.on('error', reject);
        child.on('close', (code, signal) => resolve(code ?? (signal ? 128 + 9 : -1)));
      }).finally(() => {
        if (timer) clearTimeout(timer);
        if (runcKill) clearTimeout(runcKill);
      });
      return { exitCode, stdout: stdout.value(), stderr: stderr.value(), timedOut };
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  /** Kills a timed-out exec: the exec'd process's tree and every process carrying its mark. */
  async #killExec(id: string, pidFile: string, mark: string, child: ChildProcess): Promise<void> {
    const written = await waitForPidFile(pidFile, child);
    // Marks are looked for in the container's PID namespace only (the exec joined it), and a
    // pid from the file that is in another one has been reused since the exec'd process died.
    const init = await this.state(id).catch(() => null);
    const pidNamespace = (init && init.pid > 0 ? pidNamespaceOf(init.pid) : null) ?? (written !== null ? pidNamespaceOf(written) : null);
    const pid = written !== null && pidNamespace !== null && pidNamespaceOf(written) === pidNamespace ? written : null;
    killProcessTree(pid, pidNamespace !== null ? { pidNamespace, entry: mark } : undefined);
  }
}

/** How long runc gets to reap a killed exec'd process and exit by itself. */
const RUNC_REAP_GRACE_MS = 2_000;
/** How long a timed-out exec waits for runc to write the pid file. */
const PID_FILE_WAIT_MS = 2_000;
/** The environment variable that marks every process of one ExecSync. */
export const EXEC_MARK = 'KEELSON_EXEC_ID';

/** The pid runc wrote, polled until it is there, runc has exited, or the wait is over. */
async function waitForPidFile(pidFile: string, child: ChildProcess): Promise<number | null> {
  const deadline = Date.now() + PID_FILE_WAIT_MS;
  for (;;) {
    const pid = Number.parseInt(await readFile(pidFile, 'utf8').catch(() => ''), 10);
    if (pid > 0) return pid;
    if (child.exitCode !== null || child.signalCode !== null || Date.now() >= deadline) return null;
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Keeps the first `limit` bytes of a stream and drops the rest (bounded daemon memory). */
export class BoundedBuffer {
  private readonly chunks: Buffer[] = [];
  private size = 0;
  constructor(private readonly limit: number) {}
  push(chunk: Buffer): void {
    const room = this.limit - this.size;
    if (room <= 0) return;
    const kept = chunk.length <= room ? chunk : chunk.subarray(0, room);
    this.chunks.push(kept);
    this.size += kept.length;
  }
  value(): Buffer {
    return Buffer.concat(this.chunks);
  }
}
