// One forwarded connection to a port in a pod, whichever protocol carries it (portforward-ws,
// portforward-spdy). Its lifetime is its own: it ends when the pod's socket closes, when the
// dial fails, when the caller closes it, or 1 s after the pod half-closed. That last rule is
// containerd's: once the pod has sent its FIN, what the client still sends goes on to the pod
// for up to a second (or until the pod closes fully), instead of being dropped.
import type { Socket } from 'node:net';
import { messageOf } from '../errors.js';
import { dialInNetns } from './port-dialer.js';

/** How long client data keeps flowing to a pod that half-closed. */
export const HALF_CLOSE_LINGER_MS = 1000;
/** Client data queued while the dial is in progress before the caller is asked to wait. */
const QUEUE_HIGH_WATER = 1 << 20;

export interface ForwardSink {
  /** Bytes from the pod, for the client. */
  data(chunk: Buffer): void;
  /** The pod half-closed: nothing more comes toward the client. */
  end(): void;
}

export class PodForward {
  /** Resolves once the forward is over: null, or the error text of a failed dial or transfer. */
  readonly finished: Promise<string | null>;
  private settle: (error: string | null) => void = () => undefined;
  private socket: Socket | null = null;
  private queued: Buffer[] = [];
  private queuedBytes = 0;
  private clientEnded = false;
  private readsPaused = false;
  private over = false;
  private podEnded = false;
  private linger: NodeJS.Timeout | undefined;
  private waiters: Array<() => void> = [];

  constructor(netns: string | null, port: number, private readonly sink: ForwardSink) {
    this.finished = new Promise((resolve) => { this.settle = resolve; });
    dialInNetns(netns, port).then((socket) => this.connected(socket), (err: unknown) => this.done(messageOf(err)));
  }

  /** Client bytes for the pod. false: the pod reads slower; wait for whenWritable(). */
  write(chunk: Buffer): boolean {
    if (this.over) return true;
    if (!this.socket) {
      this.queued.push(chunk);
      this.queuedBytes += chunk.length;
      return this.queuedBytes < QUEUE_HIGH_WATER;
    }
    return this.socket.write(chunk);
  }

  /**
   * Calls back once writes may go on: the pod drained what was queued, or the forward is
   * over (a dead connection must release whoever waits on it).
   */
  whenWritable(callback: () => void): void {
    if (this.over) callback();
    else this.waiters.push(callback);
  }

  /** The client half-closed: the pod reads end-of-file once what was sent is written. */
  end(): void {
    this.clientEnded = true;
    this.socket?.end();
  }

  /** Flow control toward a slow client. */
  pause(): void {
    this.readsPaused = true;
    this.socket?.pause();
  }

  resume(): void {
    this.readsPaused = false;
    this.socket?.resume();
  }

  /** Ends the forward now (the client left). */
  close(): void {
    this.done(null);
  }

  private connected(socket: Socket): void {
    if (this.over) return void socket.destroy();
    this.socket = socket;
    let error: string | null = null;
    socket.on('data', (d: Buffer) => this.sink.data(d));
    socket.on('end', () => {
      this.podEnded = true;
      this.sink.end();
      this.linger = setTimeout(() => this.done(null), HALF_CLOSE_LINGER_MS);
    });
    socket.on('drain', () => this.wake());
    // After the pod's FIN, a reset of what the client still sends is the pod closing, not a failure.
    socket.on('error', (err) => { if (!this.podEnded) error = messageOf(err); });
    socket.on('close', () => this.done(error));
    if (this.readsPaused) socket.pause();
    let writable = true;
    for (const chunk of this.queued) writable = socket.write(chunk);
    this.queued = [];
    this.queuedBytes = 0;
    if (this.clientEnded) socket.end();
    if (writable) this.wake();
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const callback of waiters) callback();
  }

  private done(error: string | null): void {
    if (this.over) return;
    this.over = true;
    clearTimeout(this.linger);
    this.socket?.destroy();
    this.queued = [];
    this.wake();
    this.settle(error);
  }
}
