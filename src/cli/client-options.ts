import { Option } from 'commander';
import { status as grpcStatus } from '@grpc/grpc-js';
import { socketIn, DEFAULT_STATE } from '../config/defaults.js';

export function socketOption(): Option {
  return new Option('--socket <path>', 'the keelson CRI socket')
    .env('KEELSON_SOCKET')
    .default(socketIn(DEFAULT_STATE));
}

/** Turns a failed call into a sentence that says what to do. */
export function explainClientError(err: unknown, socketPath: string): string {
  const e = err as { code?: number; details?: string; message?: string };
  // UNAVAILABLE with grpc-js's own words is the socket; with the daemon's, a plugin or the like.
  if (e.code === grpcStatus.UNAVAILABLE && /^(No connection established|connect E|Connection dropped|Failed to connect)/i.test(e.details ?? '')) {
    return `cannot reach keelson at ${socketPath}: is the daemon running? Start it with \`keelson serve\` (or install the systemd unit contrib/keelson.service)`;
  }
  return e.details || e.message || String(err);
}
