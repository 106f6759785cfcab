// An HTTP error answer written on a socket whose upgrade is refused.
import type { Duplex } from 'node:stream';

export function refuse(socket: Duplex, code: number, reason: string, body = '', headers: Record<string, string> = {}): void {
  const extra = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('');
  socket.end(`HTTP/1.1 ${code} ${reason}\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(body)}\r\n${extra}\r\n${body}`);
}
