// The driver of one CSI plugin: typed unary calls over its unix socket to the Identity, Node
// and Controller services of reference/csi-v1.json. This and src/cri are the only places that
// speak gRPC; here keelson is the client. Every call has a deadline, and calls answered with
// UNAVAILABLE, DEADLINE_EXCEEDED or ABORTED are retried with backoff, as the CSI spec tells a
// CO to do: all CSI calls are idempotent. Failures become KeelsonErrors naming the plugin, the
// call and the volume.
import * as grpc from '@grpc/grpc-js';
import { KeelsonError, type ErrorKind } from '../errors.js';
import type { ControllerMethods, IdentityMethods, NodeMethods } from './generated/csi-types.js';
import { csiServices } from './proto.js';

type ServiceName = 'Identity' | 'Node' | 'Controller';

export interface CsiClientOptions {
  /** Bound on one attempt. */
  timeoutMs: number;
  /** Further attempts after a retryable failure. */
  retries: number;
  /** First delay between attempts; doubles. */
  retryDelayMs?: number;
}

const KIND_OF_CODE: Partial<Record<grpc.status, ErrorKind>> = {
  [grpc.status.INVALID_ARGUMENT]: 'InvalidArgument',
  [grpc.status.NOT_FOUND]: 'NotFound',
  [grpc.status.ALREADY_EXISTS]: 'AlreadyExists',
  [grpc.status.FAILED_PRECONDITION]: 'FailedPrecondition',
  [grpc.status.RESOURCE_EXHAUSTED]: 'ResourceExhausted',
  [grpc.status.OUT_OF_RANGE]: 'InvalidArgument',
  [grpc.status.DEADLINE_EXCEEDED]: 'DeadlineExceeded',
  [grpc.status.UNAVAILABLE]: 'Unavailable',
  [grpc.status.UNIMPLEMENTED]: 'Unimplemented',
  [grpc.status.ABORTED]: 'Unavailable',
};

const RETRYABLE = new Set<grpc.status>([grpc.status.UNAVAILABLE, grpc.status.DEADLINE_EXCEEDED, grpc.status.ABORTED]);

/** A failed CSI call; `code` is the plugin's gRPC status code name. */
export class CsiCallError extends KeelsonError {
  readonly code: string;
  readonly retryable: boolean;
  /**
   * False when no attempt got a connection to the plugin, so the plugin never saw the request
   * (nothing to undo on its side); true when any attempt may have reached it.
   */
  readonly reached: boolean;

  constructor(kind: ErrorKind, message: string, code: string, retryable: boolean, reached = true) {
    super(kind, message);
    this.code = code;
    this.retryable = retryable;
    this.reached = reached;
  }
}

/** grpc-js's words for a call that failed before any connection carried it. */
const NOT_CONNECTED = /No connection established|connect ENOENT|connect ECONNREFUSED/i;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function describeRequest(request: object): string {
  const r = request as { volume_id?: unknown; name?: unknown };
  if (typeof r.volume_id === 'string' && r.volume_id !== '') return ` for volume ${r.volume_id}`;
  if (typeof r.name === 'string' && r.name !== '') return ` for volume ${r.name}`;
  return '';
}

export class CsiClient {
  readonly plugin: string;
  readonly endpoint: string;
  readonly #opts: Required<CsiClientOptions>;
  readonly #clients = new Map<ServiceName, grpc.Client>();

  constructor(plugin: string, endpoint: string, opts: CsiClientOptions) {
    this.plugin = plugin;
    this.endpoint = endpoint.replace(/^unix:\/\//, '');
    this.#opts = { retryDelayMs: 200, ...opts };
  }

  identity<M extends keyof IdentityMethods>(method: M, request: IdentityMethods[M]['request'], opts?: Partial<CsiClientOptions>): Promise<IdentityMethods[M]['response']> {
    return this.#call('Identity', method, request, opts);
  }

  node<M extends keyof NodeMethods>(method: M, request: NodeMethods[M]['request'], opts?: Partial<CsiClientOptions>): Promise<NodeMethods[M]['response']> {
    return this.#call('Node', method, request, opts);
  }

  controller<M extends keyof ControllerMethods>(method: M, request: ControllerMethods[M]['request'], opts?: Partial<CsiClientOptions>): Promise<ControllerMethods[M]['response']> {
    return this.#call('Controller', method, request, opts);
  }

  close(): void {
    for (const c of this.#clients.values()) c.close();
    this.#clients.clear();
  }

  /**
   * Drops the channels, so the next call connects afresh. For when the plugin's process was
   * (re)started or its socket reappeared: a channel whose connects failed while the plugin was
   * down sits in reconnect backoff (up to max_reconnect_backoff_ms) and fails calls at once
   * until its timer fires, though the plugin already serves.
   */
  reset(): void {
    this.close();
  }

  #client(service: ServiceName): grpc.Client {
    let client = this.#clients.get(service);
    if (!client) {
      const Ctor = csiServices()[service];
      client = new Ctor(`unix:${this.endpoint}`, grpc.credentials.createInsecure(), {
        // One plugin, one socket: no load balancing, reconnect fast after a plugin restart.
        'grpc.initial_reconnect_backoff_ms': 100,
        'grpc.max_reconnect_backoff_ms': 2000,
        'grpc.max_receive_message_length': 4 * 1024 * 1024,
        // Its own subchannel: from grpc-js's global pool a new channel (reset(), a registration
        // socket that reappeared) would get the old one back, still in its reconnect backoff.
        'grpc.use_local_subchannel_pool': 1,
      });
      this.#clients.set(service, client);
    }
    return client;
  }

  async #call(service: ServiceName, method: string, request: object, override?: Partial<CsiClientOptions>): Promise<never> {
    const opts = { ...this.#opts, ...override };
    let delay = opts.retryDelayMs;
    let reached = false;
    for (let attempt = 0; ; attempt++) {
      try {
        return (await this.#once(service, method, request, opts.timeoutMs)) as never;
      } catch (err) {
        const e = err as grpc.ServiceError;
        const code = typeof e.code === 'number' ? e.code : grpc.status.UNKNOWN;
        const retryable = RETRYABLE.has(code);
        if (!(code === grpc.status.UNAVAILABLE && NOT_CONNECTED.test(e.details ?? ''))) reached = true;
        if (retryable && attempt < opts.retries) {
          await sleep(delay);
          delay *= 2;
          continue;
        }
        const codeName = grpc.status[code] ?? String(code);
        const detail = code === grpc.status.UNAVAILABLE && /connect|No connection|ENOENT|ECONNREFUSED/i.test(e.details ?? '')
          ? `not reachable at ${this.endpoint} (${e.details})`
          : `${codeName}: ${e.details || e.message}`;
        const tries = attempt > 0 ? ` after ${attempt + 1} attempts` : '';
        throw new CsiCallError(KIND_OF_CODE[code] ?? 'Internal',
          `CSI plugin "${this.plugin}" ${method}${describeRequest(request)} failed${tries}: ${detail}`, codeName, retryable, reached);
      }
    }
  }

  #once(service: ServiceName, method: string, request: object, timeoutMs: number): Promise<unknown> {
    const client = this.#client(service) as unknown as Record<string, (
      req: object, md: grpc.Metadata, opts: grpc.CallOptions, cb: (err: grpc.ServiceError | null, res?: unknown) => void) => void>;
    const fn = client[method];
    if (typeof fn !== 'function') throw new Error(`CSI ${service} has no method ${method}`);
    return new Promise((resolve, reject) => {
      fn.call(client, request, new grpc.Metadata(), { deadline: Date.now() + timeoutMs }, (err, res) => (err ? reject(err) : resolve(res ?? {})));
    });
  }
}
