// Driver of conmon, the monitor of every container (as CRI-O runs it). conmon double-forks
// away from the daemon, runs `<runtime> create` itself, holds the container's stdio, writes
// the CRI log, records the exit code (exit file) and an oom marker, and serves the attach
// socket and the ctl fifo in the bundle. It reports the container's pid, or the runtime's
// error, as one JSON message on the sync pipe (fd 3, named by _OCI_SYNCPIPE).

import { spawn } from 'node:child_process';
import { closeSync, constants, existsSync, openSync, readFileSync } from 'node:fs';
import { open, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { KeelsonError, messageOf } from '../errors.js';
import type { RuncCli } from './runc.js';
import type {
  CreateOptions, CreatedProcess, ExecOptions, ExecResult, ExitRecord, OciRuntime, RuntimeStatus,
} from './runtime.js';

const CREATE_TIMEOUT_MS = 60_000;
/** conmon's ctl fifo message types (first number of a line). */
const CTL_REOPEN_LOG = 2;

export class ConmonRuntime implements OciRuntime {
  /** conmon pids by state dir, of monitors seen alive (saves reading the pid file per status). */
  readonly #monitorPids = new Map<string, number>();
  /** `exitDir` is shared by all containers: conmon writes <exitDir>/<id> holding the exit code. */
  constructor(private readonly conmonPath: string, private readonly runc: RuncCli, readonly exitDir: string) {}

  async create(opts: CreateOptions): Promise<CreatedProcess> {
    const args = [
      '--api-version', '1',
      '--cid', opts.id, '--cuuid', opts.id, '--name', opts.id,
      '--runtime', this.runc.binary,
      ...this.runc.globalArgs().flatMap((a) => ['--runtime-arg', a]),
      '--bundle', opts.bundle,
      '--container-pidfile', join(opts.stateDir, 'pidfile'),
      '--conmon-pidfile', join(opts.stateDir, 'conmon.pid'),
      '--log-path', opts.logPath,
      '--log-size-max', String(opts.logSizeMax ?? -1),
      '--exit-dir', this.exitDir,
      '--persist-dir', opts.stateDir,
      '--socket-dir-path', opts.stateDir,
      '--log-level', 'info',
      // conmon would sync() every filesystem after an exit: slow and not needed for the log.
      '--no-sync-log',
      // Attach (src/stream) reaches stdin and the terminal through conmon's attach socket.
      ...(opts.tty ? ['--terminal'] : []),
      ...(opts.stdin ? ['--stdin'] : []),
      ...(opts.stdin && !opts.stdinOnce ? ['--leave-stdin-open'] : []),
    ];
    // conmon's own messages go to a file: a pipe to the daemon would SIGPIPE the monitor
    // once the daemon is gone.
    const stderrFd = openSync(join(opts.stateDir, 'conmon.log'), 'a', 0o600);
    let message: SyncMessage;
    try {
      const child = spawn(this.conmonPath, args, {
        stdio: ['ignore', stderrFd, stderrFd, 'pipe'],
        env: { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin', _OCI_SYNCPIPE: '3' },
        // conmon drops an "oom" marker in its working directory (cgroup v1): keep it in the
        // container's own state dir, as CRI-O does, not in the daemon's.
        cwd: opts.stateDir,
        detached: true,
      });
      child.unref();
      message = await readSyncMessage(child, CREATE_TIMEOUT_MS);
    } catch (err) {
      const said = await readFile(join(opts.stateDir, 'conmon.log'), 'utf8').catch(() => '');
      if (err instanceof KeelsonError && said.trim()) {
        throw new KeelsonError(err.kind, `${err.message}; conmon said: ${said.trim().slice(-2000)}`);
      }
      throw err;
    } finally {
      closeSync(stderrFd);
    }
    if (message.data < 0) {
      throw new KeelsonError('Internal', `${this.runc.binary} create failed: ${message.message ?? 'no message from conmon'}`);
    }
    const monitorPid = await readPid(join(opts.stateDir, 'conmon.pid'));
    return { pid: message.data, monitorPid: monitorPid ?? 0 };
  }

  start(id: string): Promise<void> { return this.runc.start(id); }
  kill(id: string, signal: string): Promise<void> { return this.runc.kill(id, signal); }
  state(id: string): Promise<{ status: RuntimeStatus; pid: number } | null> { return this.runc.state(id); }
  delete(id: string): Promise<void> { return this.runc.delete(id); }
  hasRecord(id: string): boolean { return this.runc.hasRecord(id); }
  exec(id: string, opts: ExecOptions): Promise<ExecResult> { return this.runc.exec(id, opts); }
  execCommandLine(id: string, cmd: string[], tty: boolean, pidFile: string): { file: string; args: string[] } {
    return this.runc.execCommandLine(id, cmd, tty, pidFile);
  }
  update(id: string, resources: object): Promise<void> { return this.runc.update(id, resources); }

  async readExit(id: string, stateDir: string): Promise<ExitRecord | null> {
    const file = join(this.exitDir, id);
    // Most calls (every status of a running container) find no exit file: answer that from
    // one stat in this thread, not a round trip through the thread pool.
    if (!existsSync(file)) return null;
    let text: string;
    let exitedAt: Date;
    try {
      [text, exitedAt] = await Promise.all([readFile(file, 'utf8'), stat(file).then((s) => s.mtime)]);
    } catch {
      return null;
    }
    const exitCode = Number.parseInt(text.trim(), 10);
    if (!Number.isFinite(exitCode)) return null; // being written
    const oomKilled = await stat(join(stateDir, 'oom')).then(() => true, () => false);
    return { exitCode, exitedAt, oomKilled };
  }

  async clearExit(id: string): Promise<void> {
    await rm(join(this.exitDir, id), { force: true });
  }

  async reopenLog(bundle: string): Promise<void> {
    // Non-blocking open: a fifo with no reader (conmon gone) fails at once with ENXIO
    // instead of hanging the call.
    let handle;
    try {
      handle = await open(join(bundle, 'ctl'), constants.O_WRONLY | constants.O_NONBLOCK);
    } catch (err) {
      throw new KeelsonError('FailedPrecondition', `cannot reach the container's monitor to reopen its log: ${messageOf(err)}`);
    }
    try {
      await handle.write(`${CTL_REOPEN_LOG} 0 0\n`);
    } finally {
      await handle.close();
    }
  }

  async monitorAlive(stateDir: string): Promise<boolean> {
    const pid = this.#monitorPids.get(stateDir) ?? await readPid(join(stateDir, 'conmon.pid'));
    if (!pid) return false;
    try {
      // "<pid> (<comm>) <state> ...": a zombie conmon (waiting for init to reap it) is gone.
      // Read in this thread: a procfs read is microseconds, the thread pool hop is not.
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const match = /^\d+ \((.*)\) (\S)/.exec(stat);
      const alive = match?.[1] === 'conmon' && match[2] !== 'Z';
      // A monitor's pid never changes while it lives; once it is gone the pid may be reused.
      if (alive) this.#monitorPids.set(stateDir, pid);
      else this.#monitorPids.delete(stateDir);
      return alive;
    } catch {
      this.#monitorPids.delete(stateDir);
      return false;
    }
  }
}

interface SyncMessage { data: number; message?: string }

async function readPid(file: string): Promise<number | null> {
  try {
    const pid = Number.parseInt(await readFile(file, 'utf8'), 10);
    return pid > 0 ? pid : null;
  } catch {
    return null;
  }
}

/** The first JSON object conmon writes on the sync pipe. */
function readSyncMessage(child: ReturnType<typeof spawn>, timeoutMs: number): Promise<SyncMessage> {
  const pipe = child.stdio[3];
  if (!pipe) return Promise.reject(new Error('conmon sync pipe missing'));
  return new Promise((resolve, reject) => {
    let text = '';
    const finish = (err: Error | null, msg?: SyncMessage): void => {
      clearTimeout(timer);
      pipe.removeAllListeners('data');
      pipe.destroy();
      if (err) reject(err);
      else resolve(msg as SyncMessage);
    };
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      finish(new KeelsonError('DeadlineExceeded', `conmon did not report within ${timeoutMs} ms`));
    }, timeoutMs);
    pipe.on('data', (chunk: Buffer) => {
      text += chunk.toString('utf8');
      const end = text.indexOf('}');
      if (end < 0) return;
      try {
        const parsed = JSON.parse(text.slice(0, end + 1)) as { data?: unknown; pid?: unknown; message?: unknown };
        const data = typeof parsed.data === 'number' ? parsed.data : typeof parsed.pid === 'number' ? parsed.pid : -1;
        finish(null, { data, ...(typeof parsed.message === 'string' ? { message: parsed.message } : {}) });
      } catch (err) {
        finish(new KeelsonError('Internal', `conmon wrote garbage on the sync pipe: ${messageOf(err)}`));
      }
    });
    pipe.on('end', () => finish(new KeelsonError('Internal', `conmon exited without reporting${text ? `: ${text}` : ''}`)));
    child.on('error', (err) => finish(new KeelsonError('Internal', `cannot run conmon: ${err.message}`)));
  });
}
