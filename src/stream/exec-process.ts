// One interactive exec: `runc exec` spawned with pipes, or under a pty (node-pty) when a TTY
// was asked for. runc in the foreground with --tty makes the container's pty itself and relays
// it to its own terminal (node-pty's), and resizes it on SIGWINCH, which node-pty's resize
// sends. The exec'd process's host pid (runc --pid-file) lets a disconnect SIGKILL it: runc
// cannot forward SIGKILL.
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { constants, tmpdir } from 'node:os';
import { join } from 'node:path';
import * as pty from 'node-pty';
import { startAttach } from './attach-process.js';
import type { StreamBackend } from './backend.js';
import type { ExecProcess, OutputStream } from './session-process.js';
import type { AttachRequest, ExecRequest } from './tokens.js';

/** An exec or an attach, whichever the token names. */
export async function startSession(
  backend: StreamBackend, req: ExecRequest | AttachRequest, onOutput: (stream: OutputStream, data: Buffer) => void,
  initialSize?: { width: number; height: number },
): Promise<ExecProcess> {
  if (req.kind === 'attach') return startAttach(backend, req, onOutput);
  return startExec(backend, req, onOutput, initialSize);
}

export async function startExec(
  backend: StreamBackend, req: ExecRequest, onOutput: (stream: OutputStream, data: Buffer) => void,
  initialSize?: { width: number; height: number },
): Promise<ExecProcess> {
  const scratch = backend.scratchDir ?? tmpdir();
  await mkdir(scratch, { recursive: true, mode: 0o700 });
  const dir = await mkdtemp(join(scratch, 'keelson-exec-'));
  const pidFile = join(dir, 'pid');
  let started: ExecProcess;
  try {
    const { file, args } = await backend.execCommandLine(req.containerId, req.cmd, req.tty, pidFile);
    started = req.tty ? startTty(file, args, pidFile, onOutput, initialSize) : startPiped(file, args, pidFile, req, onOutput);
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  void started.exited.finally(() => rm(dir, { recursive: true, force: true }));
  return started;
}

function killExecd(pidFile: string): void {
  void readFile(pidFile, 'utf8').then((text) => {
    const pid = Number.parseInt(text, 10);
    if (pid > 0) process.kill(pid, 'SIGKILL');
  }).catch(() => undefined);
}

function startPiped(
  file: string, args: string[], pidFile: string, req: ExecRequest, onOutput: (stream: OutputStream, data: Buffer) => void,
): ExecProcess {
  const child = spawn(file, args, { stdio: [req.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'] });
  child.stdout?.on('data', (d: Buffer) => { if (req.stdout) onOutput('stdout', d); });
  child.stderr?.on('data', (d: Buffer) => { if (req.stderr) onOutput('stderr', d); });
  child.stdin?.on('error', () => undefined); // EPIPE when the process stops reading
  let ended = false;
  const exited = new Promise<number>((resolve) => {
    child.on('error', () => resolve(-1));
    child.on('close', (code, signal) => resolve(code ?? (signal ? 128 + signalNumber(signal) : -1)));
  });
  void exited.then(() => { ended = true; });
  return {
    writeStdin: (data) => { if (child.stdin && !child.stdin.destroyed) child.stdin.write(data); },
    closeStdin: () => { child.stdin?.end(); },
    resize: () => undefined,
    pause: () => { child.stdout?.pause(); child.stderr?.pause(); },
    resume: () => { child.stdout?.resume(); child.stderr?.resume(); },
    exited,
    kill: () => { if (!ended) { killExecd(pidFile); child.kill('SIGKILL'); } },
  };
}

function startTty(
  file: string, args: string[], pidFile: string, onOutput: (stream: OutputStream, data: Buffer) => void,
  size?: { width: number; height: number },
): ExecProcess {
  const term = pty.spawn(file, args, {
    name: 'xterm', cols: size?.width || 80, rows: size?.height || 24, encoding: null,
    env: { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin' },
  });
  term.onData((d: string | Buffer) => onOutput('stdout', typeof d === 'string' ? Buffer.from(d) : d));
  const exited = new Promise<number>((resolve) => {
    term.onExit(({ exitCode, signal }) => resolve(signal ? 128 + signal : exitCode));
  });
  let gone = false;
  const spawnedAt = Date.now();
  void exited.then(() => { gone = true; });
  return {
    writeStdin: (data) => { if (!gone) term.write(data.toString('binary')); },
    // A terminal has no EOF of its own: ^D at the start of a line is what a shell reads as one.
    closeStdin: () => { if (!gone) term.write('\x04'); },
    resize: (width, height) => {
      if (gone || width <= 0 || height <= 0) return;
      term.resize(width, height);
      // runc forwards a resize to the container's pty from its SIGWINCH handler, which it
      // installs only once the container's console is set up: repeat the signal for a
      // resize that came that early (the kernel sends none when the size is unchanged, so a
      // repeat after runc is ready costs nothing). On a loaded node runc can take seconds.
      if (Date.now() - spawnedAt < 10_000) {
        for (const ms of [150, 500, 1200, 2500, 5000, 9000]) setTimeout(() => { try { if (!gone) process.kill(term.pid, 'SIGWINCH'); } catch { /* gone */ } }, ms).unref();
      }
    },
    pause: () => term.pause(),
    resume: () => term.resume(),
    exited,
    kill: () => { if (!gone) { killExecd(pidFile); term.kill('SIGKILL'); } },
  };
}

function signalNumber(signal: NodeJS.Signals): number {
  return constants.signals[signal] ?? 1;
}
