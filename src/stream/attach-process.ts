// Attach to a container's main process through its monitor: conmon's attach socket
// (SOCK_SEQPACKET, packets of up to 8192 bytes whose first byte names the pipe: 2 stdout,
// 3 stderr; what we write goes to the process's stdin) and its ctl fifo ("1 <height> <width>"
// resizes the terminal). The socket is non-blocking and polled, so an idle attach holds no
// thread. Leaving an attach never stops the container.
import { closeSync, constants, openSync, readSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { connectSeqpacket, shutdownWrite } from '../native.js';
import type { StreamBackend } from './backend.js';
import type { ExecProcess, OutputStream } from './session-process.js';
import type { AttachRequest } from './tokens.js';

const PACKET = 8192;
const POLL_MS = 10;
const PIPE_STDOUT = 2;
const PIPE_STDERR = 3;
const CTL_RESIZE = 1;

export async function startAttach(
  backend: StreamBackend, req: AttachRequest, onOutput: (stream: OutputStream, data: Buffer) => void,
): Promise<ExecProcess> {
  const target = await backend.attachTarget(req.containerId);
  const fd = connectSeqpacket(target.bundle, 'attach');
  const buffer = Buffer.alloc(PACKET + 1);
  const pendingStdin: Buffer[] = [];
  let open = true;
  let paused = false;
  /** The client ended stdin: once what it sent is written, half-close so conmon sees EOF. */
  let stdinEnded = false;
  let stdinShut = false;
  // containerd's rule: stdin's end ends the attach, except for a container without a terminal
  // created stdin_once, whose stdin conmon closes and whose output goes on until it exits.
  // (Otherwise conmon runs with --leave-stdin-open and nothing would ever end the session.)
  const endWithStdin = !(target.stdinOnce && !target.tty);
  let finish: (code: number) => void = () => undefined;
  const exited = new Promise<number>((resolve) => { finish = resolve; });
  const close = (): void => {
    if (!open) return;
    open = false;
    clearInterval(timer);
    closeSync(fd);
    finish(0);
  };
  const tick = (): void => {
    try {
      while (open && pendingStdin.length > 0) {
        const chunk = pendingStdin[0] as Buffer;
        writeSync(fd, chunk);
        pendingStdin.shift();
      }
      if (open && stdinEnded && !stdinShut && pendingStdin.length === 0) {
        stdinShut = true;
        shutdownWrite(fd);
      }
      while (open && !paused) {
        const n = readSync(fd, buffer, 0, buffer.length, null);
        if (n === 0) return close(); // the monitor closed it: the container exited
        const pipe = buffer[0];
        const data = Buffer.from(buffer.subarray(1, n));
        if (pipe === PIPE_STDOUT && req.stdout) onOutput('stdout', data);
        else if (pipe === PIPE_STDERR && req.stderr) onOutput('stderr', data);
      }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') return close();
      // What the container had written so far is passed on: the client's stdin ended, so does the attach.
      if (stdinShut && endWithStdin) close();
    }
  };
  const timer = setInterval(tick, POLL_MS);
  return {
    writeStdin(data) {
      if (!open || !req.stdin || stdinEnded) return;
      for (let off = 0; off < data.length; off += PACKET) pendingStdin.push(data.subarray(off, off + PACKET));
      tick();
    },
    // conmon reads EOF on its attach socket and closes the container's stdin when the
    // container asked for stdin_once (otherwise it runs with --leave-stdin-open). Output
    // keeps coming for a stdin_once container without a terminal; any other attach ends here
    // (the container keeps running).
    closeStdin() {
      if (!open || !req.stdin) return;
      stdinEnded = true;
      tick();
    },
    resize(width, height) {
      if (!open || !target.tty || width <= 0 || height <= 0) return;
      try {
        const ctl = openSync(join(target.bundle, 'ctl'), constants.O_WRONLY | constants.O_NONBLOCK);
        try { writeSync(ctl, `${CTL_RESIZE} ${height} ${width}\n`); } finally { closeSync(ctl); }
      } catch {
        // the monitor is gone: the attach ends on its own
      }
    },
    pause: () => { paused = true; },
    resume: () => { paused = false; },
    exited,
    kill: close,
  };
}
