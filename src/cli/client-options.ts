import { Option } from 'commander';
import { status as grpcStatus } from '@grpc/grpc-js';
import type { CriClient } from '../client/cri.js';
import { socketIn, DEFAULT_STATE } from '../config/defaults.js';
import { FailedPreconditionError } from '../errors.js';

export function socketOption(): Option {
  return new Option('--socket <path>', 'the keelson CRI socket')
    .env('KEELSON_SOCKET')
    .default(socketIn(DEFAULT_STATE));
}

/** `-n/--namespace`, as kubectl's: only the pods of that namespace are listed or looked up. */
export function namespaceOption(description = 'only pods of this namespace'): Option {
  return new Option('-n, --namespace <ns>', description);
}

export interface DaemonDirs {
  root: string;
  state: string;
}

/**
 * The daemon's root and state dirs, as its verbose CRI Status reports them (info.config), so a
 * client needs no --root/--state to find pod volumes or pull progress.
 */
export async function daemonDirs(client: CriClient): Promise<DaemonDirs> {
  const st = await client.runtime.call('Status', { verbose: true }, { timeoutMs: 10_000 });
  const raw = st.info?.config;
  const config = raw ? (JSON.parse(raw) as { root?: unknown; state?: unknown }) : {};
  if (typeof config.root !== 'string' || typeof config.state !== 'string') {
    throw new FailedPreconditionError('the daemon did not report its root and state dirs in its verbose Status (info.config): is it keelson?');
  }
  return { root: config.root, state: config.state };
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
