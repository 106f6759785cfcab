// remotecommand (exec) over SPDY: the client opens one stream per channel, named by its
// streamType header (error, stdin, stdout, stderr, resize); the server replies to each and
// starts the process once every expected stream is there (or gives up after 30 s).
import { messageOf } from '../errors.js';
import type { Logger } from '../logger.js';
import type { StreamBackend } from './backend.js';
import { startSession } from './exec-process.js';
import type { ExecProcess } from './session-process.js';
import { parseResize } from './remotecommand-ws.js';
import type { SpdyConnection, SpdyStream } from './spdy/connection.js';
import { statusJson, statusText } from './status.js';
import type { AttachRequest, ExecRequest } from './tokens.js';

const STREAM_CREATION_TIMEOUT_MS = 30_000;
const MAX_RESIZE_BUFFER = 4096;

type StreamType = 'error' | 'stdin' | 'stdout' | 'stderr' | 'resize';

export async function serveExecSpdy(session: SpdyConnection, req: ExecRequest | AttachRequest, protocol: string, backend: StreamBackend, log: Logger): Promise<void> {
  const version = protocol.startsWith('v5.') || protocol.startsWith('v4.') ? 4 : protocol.startsWith('v3.') ? 3 : protocol.startsWith('v2.') ? 2 : 1;
  const expected = new Set<StreamType>(['error']);
  if (req.stdin) expected.add('stdin');
  if (req.stdout) expected.add('stdout');
  if (req.stderr) expected.add('stderr');
  if (req.tty && version >= 3) expected.add('resize');
  const streams = new Map<StreamType, SpdyStream>();

  const ready = new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => resolve(false), STREAM_CREATION_TIMEOUT_MS);
    session.on('close', () => { clearTimeout(timer); resolve(false); });
    session.on('stream', (stream: SpdyStream) => {
      const type = stream.header('streamtype') as StreamType | undefined;
      if (!type || !expected.has(type) || streams.has(type)) return stream.resetStream();
      streams.set(type, stream);
      void stream.reply().then(() => {
        if ([...expected].every((t) => streams.has(t))) { clearTimeout(timer); resolve(true); }
      });
    });
  });
  if (!(await ready)) {
    log.info({ container: req.containerId, got: [...streams.keys()] }, 'exec: the client did not open its streams in time');
    return session.close();
  }

  let proc: ExecProcess | null = null;
  /** A resize that came before the process started is its initial size. */
  let lastSize: { width: number; height: number } | undefined;
  const out = { stdout: streams.get('stdout'), stderr: streams.get('stderr') };
  const onDrain = (): void => proc?.resume();
  session.on('drain', onDrain);
  const onOutput = (which: 'stdout' | 'stderr', data: Buffer): void => {
    const target = out[which];
    if (target && !target.write(data)) proc?.pause();
  };
  session.on('close', () => proc?.kill());
  const stdin = streams.get('stdin');
  const pending: Buffer[] = [];
  let stdinEnded = false;
  stdin?.on('data', (d: Buffer) => { if (proc) proc.writeStdin(d); else pending.push(d); });
  stdin?.on('end', () => { if (proc) proc.closeStdin(); else stdinEnded = true; });
  let resizeText = '';
  streams.get('resize')?.on('data', (d: Buffer) => {
    resizeText += d.toString();
    if (resizeText.length > MAX_RESIZE_BUFFER) return session.close();
    // A stream of concatenated JSON objects without nesting: cut at each '}'.
    for (let end = resizeText.indexOf('}'); end >= 0; end = resizeText.indexOf('}')) {
      const size = parseResize(Buffer.from(resizeText.slice(0, end + 1)));
      resizeText = resizeText.slice(end + 1);
      if (size) { lastSize = size; proc?.resize(size.width, size.height); }
    }
  });
  if (version === 1) stdin?.end();

  let exitCode: number | null = null;
  let error: string | undefined;
  try {
    proc = await startSession(backend, req, onOutput, lastSize);
    if (lastSize) proc.resize(lastSize.width, lastSize.height);
    if (session.closed) proc.kill();
    for (const chunk of pending) proc.writeStdin(chunk);
    if (stdinEnded) proc.closeStdin();
    exitCode = await proc.exited;
  } catch (err) {
    error = messageOf(err);
    log.warn({ container: req.containerId, err: error }, 'exec failed');
  }
  session.off('drain', onDrain);
  const exit = error !== undefined ? { exitCode, error } : { exitCode };
  const errorStream = streams.get('error');
  const text = version >= 4 ? statusJson(exit) : statusText(exit);
  if (errorStream && text) errorStream.write(Buffer.from(text));
  for (const s of streams.values()) s.end();
  session.close();
}
