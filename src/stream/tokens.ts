// Single-use tokens for the streaming URLs: each names the one request (exec, attach or
// port-forward) that the CRI call validated, expires after a TTL and is consumed by its first use.
import { randomBytes } from 'node:crypto';

export interface ExecRequest {
  kind: 'exec';
  containerId: string;
  cmd: string[];
  tty: boolean;
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
}

export interface AttachRequest {
  kind: 'attach';
  containerId: string;
  tty: boolean;
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
}

export interface PortForwardRequest {
  kind: 'portforward';
  sandboxId: string;
  /** Ports of the CRI request, in order (the WebSocket protocol opens a channel pair for each). */
  ports: number[];
}

export type StreamRequest = ExecRequest | AttachRequest | PortForwardRequest;

/** Bound on outstanding tokens, so a flood of Exec calls cannot grow memory without limit. */
const MAX_TOKENS = 10_000;

export class TokenCache {
  private readonly entries = new Map<string, { request: StreamRequest; expiresAt: number }>();

  constructor(private readonly ttlMs: number, private readonly now: () => number = Date.now) {}

  /** Stores a request and returns its token (URL-safe, 256 random bits). */
  insert(request: StreamRequest): string {
    this.sweep();
    if (this.entries.size >= MAX_TOKENS) {
      // Drop the oldest: Map iteration is insertion order.
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
    const token = randomBytes(32).toString('base64url');
    this.entries.set(token, { request, expiresAt: this.now() + this.ttlMs });
    return token;
  }

  /** The request of a token, removing it; null when unknown, used or expired. */
  consume(token: string): StreamRequest | null {
    const entry = this.entries.get(token);
    if (!entry) return null;
    this.entries.delete(token);
    return entry.expiresAt > this.now() ? entry.request : null;
  }

  get size(): number {
    return this.entries.size;
  }

  private sweep(): void {
    const now = this.now();
    // One TTL for all: insertion order is expiry order, so stop at the first live entry.
    for (const [token, entry] of this.entries) {
      if (entry.expiresAt > now) break;
      this.entries.delete(token);
    }
  }
}
