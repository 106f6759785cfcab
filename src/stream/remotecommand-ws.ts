// remotecommand (exec) over WebSocket: channel protocols v5/v4.channel.k8s.io, channel.k8s.io
// and their base64 variants. Each binary message is one channel byte + payload (base64: an
// ASCII digit + base64 text). Channels: 0 stdin, 1 stdout, 2 stderr, 3 error (Status JSON in
// v4+), 4 resize ({"Width","Height"}), 255 close (v5: [255, channel] half-closes it).
import type { WebSocket } from 'ws';
import type { Logger } from '../logger.js';
import { messageOf } from '../errors.js';
import type { StreamBackend } from './backend.js';
import { startSession } from './exec-process.js';
import type { ExecProcess } from './session-process.js';
import { statusJson, statusText } from './status.js';
import type { AttachRequest, ExecRequest } from './tokens.js';
import { decodeChannelFrame, encodeChannelFrame } from './ws-channel.js';

export const EXEC_WS_PROTOCOLS = ['v5.channel.k8s.io', 'v4.channel.k8s.io', 'v4.base64.channel.k8s.io', 'channel.k8s.io', 'base64.channel.k8s.io'];

const STDIN = 0, STDOUT = 1, STDERR = 2, ERROR = 3, RESIZE = 4, CLOSE = 255;
/** Output is paused while this much is queued for a slow client. */
const HIGH_WATER = 1 << 20;
/** A resize message is a small JSON object; anything larger is an error. */
const MAX_RESIZE_BYTES = 1024;

export async function serveExecWebSocket(ws: WebSocket, req: ExecRequest | AttachRequest, backend: StreamBackend, log: Logger): Promise<void> {
  const protocol = ws.protocol;
  const base64 = protocol.includes('base64');
  const v4 = protocol.startsWith('v4.') || protocol.startsWith('v5.');
  const send = (channel: number, data: Buffer): void => {
    if (ws.readyState !== ws.OPEN) return;
    ws.send(encodeChannelFrame(channel, data, base64));
  };
  let proc: ExecProcess | null = null;
  /** A resize that came before the process started is its initial size. */
  let lastSize: { width: number; height: number } | undefined;
  const pending: Buffer[] = [];
  let paused = false;
  const onOutput = (stream: 'stdout' | 'stderr', data: Buffer): void => {
    send(stream === 'stdout' ? STDOUT : STDERR, data);
    if (!paused && ws.bufferedAmount > HIGH_WATER) {
      paused = true;
      proc?.pause();
      const poll = setInterval(() => {
        if (ws.readyState !== ws.OPEN || ws.bufferedAmount < HIGH_WATER / 2) {
          clearInterval(poll);
          paused = false;
          proc?.resume();
        }
      }, 10);
    }
  };

  ws.on('message', (raw: Buffer, isBinary: boolean) => {
    const frame = decodeChannelFrame(raw, isBinary, base64);
    if (!frame) return;
    const { channel, payload } = frame;
    if (channel === STDIN && req.stdin) {
      if (proc) proc.writeStdin(payload); else pending.push(payload);
    } else if (channel === RESIZE && req.tty) {
      if (payload.length > MAX_RESIZE_BYTES) return void ws.close(1009, 'resize message too large');
      const size = parseResize(payload);
      if (size) { lastSize = size; proc?.resize(size.width, size.height); }
    } else if (channel === CLOSE && payload[0] === STDIN && protocol.startsWith('v5.')) {
      if (proc) proc.closeStdin(); else pending.push(Buffer.alloc(0));
    }
  });
  let clientGone = false;
  ws.on('close', () => { clientGone = true; proc?.kill(); });
  ws.on('error', () => { clientGone = true; proc?.kill(); });

  // The empty frame tells the client the streams are ready (client-go waits for it).
  send(req.stdout ? STDOUT : req.stderr ? STDERR : ERROR, Buffer.alloc(0));
  let exitCode: number | null = null;
  let error: string | undefined;
  try {
    proc = await startSession(backend, req, onOutput, lastSize);
    if (lastSize) proc.resize(lastSize.width, lastSize.height);
    if (clientGone) proc.kill();
    for (const chunk of pending) {
      if (chunk.length === 0) proc.closeStdin(); else proc.writeStdin(chunk);
    }
    exitCode = await proc.exited;
  } catch (err) {
    error = messageOf(err);
    log.warn({ container: req.containerId, err: error }, 'exec failed');
  }
  const exit = error !== undefined ? { exitCode, error } : { exitCode };
  send(ERROR, Buffer.from(v4 ? statusJson(exit) : statusText(exit)));
  ws.close(1000);
}

export function parseResize(payload: Buffer): { width: number; height: number } | null {
  try {
    const value = JSON.parse(payload.toString()) as { Width?: unknown; Height?: unknown };
    const width = Number(value.Width), height = Number(value.Height);
    if (!Number.isInteger(width) || !Number.isInteger(height) || width < 0 || height < 0 || width > 65535 || height > 65535) return null;
    return { width, height };
  } catch {
    return null;
  }
}
