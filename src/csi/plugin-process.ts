// One CSI plugin binary that the daemon starts, supervises and restarts with backoff.
// The child gets its own process group (a Ctrl-C to the daemon's terminal must not reach it;
// the daemon stops it explicitly) and writes straight into its log file by fd: a pipe to a
// daemon that died would SIGPIPE the plugin.
import { spawn, type ChildProcess } from 'node:child_process';
import { constants as fsConstants } from 'node:fs';
import { access, lstat, mkdir, open, stat, unlink } from 'node:fs/promises';
import { connect } from 'node:net';
import { dirname, isAbsolute } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { FailedPreconditionError, InvalidArgumentError, KeelsonError, messageOf } from '../errors.js';
import type { Logger } from '../logger.js';
import { stopLeftoverPlugin, writePidFile } from './leftover-plugin.js';

/** Waits double from initialMs up to maxMs; a run that lasted resetAfterMs starts over at initialMs. */
export interface PluginBackoff { initialMs: number; maxMs: number; resetAfterMs: number }

export interface PluginProcessOptions {
  name: string;
  binary: string;
  args: string[];
  /** Unix socket path the plugin listens on (passed as CSI_ENDPOINT=unix://<path>). */
  endpoint: string;
  logFile: string;
  log: Logger;
  env?: Record<string, string>;
  backoff?: Partial<PluginBackoff>; // defaults 1000 / 30000 / 60000 ms
  onRestart?: (attempt: number) => void;
  /** A run's socket accepts (the first start and every restart): the time to reconnect. */
  onReady?: (pid: number | null) => void;
  /** A ready run exited unexpectedly; restartAt is when the next start is due. */
  onExit?: (exit: PluginExit, restartAt: number | null) => void;
  readyTimeoutMs?: number; // default 15000
}

export interface PluginExit { code: number | null; signal: string | null; at: number }

export interface PluginProcessStatus {
  pid: number | null;
  running: boolean;
  /** Running and its socket accepted. */
  ready: boolean;
  restarts: number;
  lastExit: PluginExit | null;
  nextRestartAt: number | null; // epoch ms of the pending restart, while waiting out a backoff
}

interface Run {
  child: ChildProcess;
  pid: number | null;
  startedAt: number;
  ready: boolean; // the socket accepted; only a ready run's exit schedules a restart by itself
  exit: PluginExit | null;
  spawnError: Error | null;
  exited: Promise<PluginExit>;
}

const POLL_MS = 50;
const LOG_TAIL_BYTES = 2048;
const MAX_SOCKET_PATH = 107; // sun_path is 108 bytes including the NUL

export class PluginProcess {
  private readonly opts: PluginProcessOptions;
  private readonly backoff: PluginBackoff;
  private readonly log: Logger;
  private run: Run | null = null;
  private stopped = true;
  private stopping: Promise<void> | null = null;
  private restarts = 0;
  private lastExit: PluginExit | null = null;
  private nextDelayMs: number;
  private timer: NodeJS.Timeout | null = null;
  private nextRestartAt: number | null = null;

  constructor(opts: PluginProcessOptions) {
    this.opts = opts;
    this.backoff = { initialMs: 1000, maxMs: 30_000, resetAfterMs: 60_000, ...opts.backoff };
    this.nextDelayMs = this.backoff.initialMs;
    this.log = opts.log.child({ csiPlugin: opts.name });
    const { initialMs, maxMs, resetAfterMs } = this.backoff;
    if (!isAbsolute(opts.endpoint) || Buffer.byteLength(opts.endpoint) > MAX_SOCKET_PATH) {
      throw new InvalidArgumentError(`CSI plugin ${opts.name}: endpoint ${opts.endpoint} must be an absolute path of at most ${MAX_SOCKET_PATH} bytes`);
    }
    if (!(initialMs > 0 && maxMs >= initialMs && resetAfterMs >= 0)) {
      throw new InvalidArgumentError(`CSI plugin ${opts.name}: backoff needs 0 < initialMs <= maxMs and resetAfterMs >= 0`);
    }
  }

  /** Starts the plugin and resolves once its socket accepts; then keeps it running until stop(). */
  async start(): Promise<void> {
    if (!this.stopped) throw new FailedPreconditionError(`CSI plugin ${this.opts.name} is already started`);
    [this.stopped, this.stopping, this.nextDelayMs] = [false, null, this.backoff.initialMs];
    try {
      await this.checkBinary();
      await this.launch();
    } catch (err) {
      this.stopped = true; // a failed first start is the caller's to handle, not a restart loop
      throw err;
    }
  }

  status(): PluginProcessStatus {
    const run = this.run !== null && this.run.exit === null ? this.run : null;
    return { pid: run?.pid ?? null, running: run !== null, ready: run?.ready ?? false, restarts: this.restarts, lastExit: this.lastExit, nextRestartAt: this.nextRestartAt };
  }

  /** Resolves when the plugin is running and its socket accepts (e.g. after a restart). */
  async waitReady(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (this.stopped) throw new FailedPreconditionError(`CSI plugin ${this.opts.name} is stopped`);
      const run = this.run;
      if (run !== null && run.ready && run.exit === null && (await accepts(this.opts.endpoint))) return;
      if (Date.now() >= deadline) {
        throw new KeelsonError('Unavailable', `CSI plugin ${this.opts.name} is not ready on ${this.opts.endpoint} after ${timeoutMs} ms`);
      }
      await sleep(POLL_MS);
    }
  }

  /** No more restarts; SIGTERM, then SIGKILL after timeoutMs; resolves once the child exited. */
  stop(timeoutMs = 5000): Promise<void> {
    if (this.stopping !== null) return this.stopping;
    this.stopped = true;
    if (this.timer !== null) clearTimeout(this.timer);
    [this.timer, this.nextRestartAt] = [null, null];
    this.stopping = this.run === null ? Promise.resolve() : this.terminate(this.run, timeoutMs);
    return this.stopping;
  }

  private async checkBinary(): Promise<void> {
    const { name, binary } = this.opts;
    const st = await stat(binary).catch((err: unknown) => {
      throw new InvalidArgumentError(`CSI plugin ${name}: binary ${binary} does not exist or cannot be read: ${messageOf(err)}`);
    });
    if (!st.isFile()) throw new InvalidArgumentError(`CSI plugin ${name}: binary ${binary} is not a regular file`);
    await access(binary, fsConstants.X_OK).catch(() => {
      throw new FailedPreconditionError(`CSI plugin ${name}: binary ${binary} is not executable`);
    });
  }

  /** Spawns one run and waits for its socket; on failure the child is gone when this rejects. */
  private async launch(): Promise<void> {
    const { name, binary, args, endpoint, logFile } = this.opts;
    await Promise.all([mkdir(dirname(endpoint), { recursive: true }), mkdir(dirname(logFile), { recursive: true })]);
    const pidFile = `${logFile.replace(/\.log$/, '')}.pid`;
    await stopLeftoverPlugin(pidFile, binary, args, this.log);
    await removeStaleSocket(endpoint, name);
    const log = await open(logFile, 'a');
    let run: Run;
    try {
      if (this.stopped) throw new FailedPreconditionError(`CSI plugin ${name} was stopped while starting`);
      const env = { ...process.env, CSI_ENDPOINT: `unix://${endpoint}`, ...this.opts.env };
      const child = spawn(binary, args, { detached: true, stdio: ['ignore', log.fd, log.fd], env });
      run = this.track(child);
      if (run.pid !== null) await writePidFile(pidFile, run.pid);
    } finally {
      await log.close(); // the child holds its own copies of the fd
    }
    const readyTimeoutMs = this.opts.readyTimeoutMs ?? 15_000;
    const deadline = Date.now() + readyTimeoutMs;
    for (;;) {
      if (this.stopped) {
        await this.terminate(run, 5000);
        throw new FailedPreconditionError(`CSI plugin ${name} was stopped while starting`);
      }
      if (run.exit !== null) {
        const { code, signal } = run.exit;
        const why = run.spawnError !== null ? messageOf(run.spawnError) : signal !== null ? `killed by signal ${signal}` : `exit code ${code}`;
        throw new FailedPreconditionError(
          `CSI plugin ${name} (${binary}) exited before listening on ${endpoint}: ${why}; log ${logFile} ends with:\n${await tail(logFile)}`);
      }
      if ((await accepts(endpoint)) && run.exit === null) { // (an exit right after accepting is reported above)
        run.ready = true;
        this.log.info({ pid: run.pid, endpoint }, 'CSI plugin is listening');
        try { this.opts.onReady?.(run.pid); } catch (err) { this.log.warn({ err }, 'onReady callback failed'); }
        return;
      }
      if (Date.now() >= deadline) {
        await this.terminate(run, 5000);
        throw new KeelsonError('DeadlineExceeded',
          `CSI plugin ${name} (${binary}) did not listen on ${endpoint} within ${readyTimeoutMs} ms; log ${logFile} ends with:\n${await tail(logFile)}`);
      }
      await Promise.race([sleep(POLL_MS), run.exited]);
    }
  }

  private track(child: ChildProcess): Run {
    let resolveExit: (exit: PluginExit) => void = () => {};
    const run: Run = {
      child, pid: child.pid ?? null, startedAt: Date.now(), ready: false, exit: null, spawnError: null,
      exited: new Promise<PluginExit>((resolve) => { resolveExit = resolve; }),
    };
    const finish = (code: number | null, signal: string | null): void => {
      if (run.exit !== null) return;
      run.exit = { code, signal, at: Date.now() };
      this.lastExit = run.exit;
      // Whatever the plugin started goes with it (its own process group), as systemd's
      // control-group kill does: a stray child must not keep serving a stale socket.
      signalGroup(run, 'SIGKILL');
      resolveExit(run.exit);
      if (run.ready && !this.stopped) {
        this.log.warn({ pid: run.pid, code, signal }, 'CSI plugin exited unexpectedly; restarting after backoff');
        this.scheduleRestart(run);
        try { this.opts.onExit?.(run.exit, this.nextRestartAt); } catch (err) { this.log.warn({ err }, 'onExit callback failed'); }
      }
    };
    child.once('exit', (code, signal) => finish(code, signal));
    child.on('error', (err) => {
      // Only a failed spawn ends the run here; a failed kill() also lands in 'error'.
      if (run.pid === null) { run.spawnError = err; finish(null, null); } else this.log.warn({ err }, 'CSI plugin process error');
    });
    this.run = run;
    return run;
  }

  private scheduleRestart(prev: Run | null): void {
    if (this.stopped) return;
    const base = prev?.exit?.at ?? Date.now();
    if (prev?.exit && prev.exit.at - prev.startedAt >= this.backoff.resetAfterMs) this.nextDelayMs = this.backoff.initialMs;
    const delay = this.nextDelayMs;
    this.nextDelayMs = Math.min(delay * 2, this.backoff.maxMs);
    this.nextRestartAt = base + delay;
    this.timer = setTimeout(() => void this.restart(), Math.max(0, this.nextRestartAt - Date.now()));
  }

  private async restart(): Promise<void> {
    [this.timer, this.nextRestartAt] = [null, null];
    if (this.stopped) return;
    this.restarts += 1;
    try { this.opts.onRestart?.(this.restarts); } catch (err) { this.log.warn({ err }, 'onRestart callback failed'); }
    await this.launch().catch((err: unknown) => {
      if (this.stopped) return;
      this.log.warn({ attempt: this.restarts, err: messageOf(err) }, 'CSI plugin restart failed');
      this.scheduleRestart(this.run?.exit ? this.run : null); // a failed start counts: back off again
    });
  }

  private async terminate(run: Run, timeoutMs: number): Promise<void> {
    if (run.exit !== null) return;
    signalGroup(run, 'SIGTERM');
    const escalate = setTimeout(() => {
      this.log.warn({ pid: run.pid, timeoutMs }, 'CSI plugin ignored SIGTERM; sending SIGKILL');
      signalGroup(run, 'SIGKILL');
    }, timeoutMs);
    await run.exited.finally(() => clearTimeout(escalate));
  }
}

/**
 * Signals the plugin's process group (it was spawned detached: its pid is the group id, and a
 * pid in use as a group id is never handed out again). A group already gone is fine.
 */
function signalGroup(run: Run, signal: NodeJS.Signals): void {
  if (run.pid === null) return;
  try {
    process.kill(-run.pid, signal);
  } catch {
    if (run.exit === null) run.child.kill(signal); // not a group leader after all: the pid alone
  }
}

/** A socket left by a killed plugin would look ready; anything else at the path is not ours to delete. */
async function removeStaleSocket(path: string, name: string): Promise<void> {
  const st = await lstat(path).catch((err: NodeJS.ErrnoException) => { if (err.code === 'ENOENT') return null; throw err; });
  if (st === null) return;
  if (!st.isSocket()) throw new FailedPreconditionError(`CSI plugin ${name}: endpoint ${path} exists and is not a socket`);
  await unlink(path);
}

function accepts(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = connect({ path });
    const done = (ok: boolean): void => { sock.destroy(); resolve(ok); };
    sock.setTimeout(1000, () => done(false));
    sock.once('connect', () => done(true));
    sock.once('error', () => done(false));
  });
}

async function tail(file: string): Promise<string> {
  const fh = await open(file, 'r').catch(() => null);
  if (fh === null) return '(log unreadable)';
  try {
    const { size } = await fh.stat();
    const start = Math.max(0, size - LOG_TAIL_BYTES);
    const { buffer, bytesRead } = await fh.read(Buffer.alloc(size - start), 0, size - start, start);
    return buffer.subarray(0, bytesRead).toString('utf8');
  } finally {
    await fh.close();
  }
}
