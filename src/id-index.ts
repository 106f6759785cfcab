// How an id the user or kubelet gives names one object, the same for pods, containers and
// images, in the daemon and in the CLI: the full id first, then (where names are allowed) the
// name, then a unique id prefix, as containerd's truncated ids and crictl do. Several attempts
// of one container are one match: the newest attempt is meant.

import { InvalidArgumentError, NotFoundError } from './errors.js';

export interface IdCandidate {
  /** The full id (64 hex digits; images may carry "sha256:"). */
  id: string;
  /** Names that also select it: "web", "default/web", "pod/container". */
  names?: readonly string[];
  /** Attempts of one object share a key (pod id + container name); the highest attempt wins. */
  attemptKey?: string;
  attempt?: number;
}

/**
 * A ref that names several objects: InvalidArgument (the caller must give more of the id),
 * the same in the daemon and the CLI. containerd answers such a prefix with an unmapped
 * error (Unknown); NotFound would let an idempotent remove succeed without removing anything.
 */
export class AmbiguousIdError extends InvalidArgumentError {}

/** The first digits of an id, as tables and messages show it (13, as crictl prints them). */
export function shortId(id: string | null | undefined, length = 13): string {
  return (id ?? '').slice(0, length);
}

/** The hex digits of an id, without an algorithm prefix: what a prefix is matched against. */
function hexOf(id: string): string {
  return id.startsWith('sha256:') ? id.slice('sha256:'.length) : id;
}

function newestAttempts<T extends IdCandidate>(matches: T[]): T[] {
  const out = new Map<string, T>();
  for (const c of matches) {
    const key = c.attemptKey ?? c.id;
    const seen = out.get(key);
    if (!seen || (c.attempt ?? 0) > (seen.attempt ?? 0)) out.set(key, c);
  }
  return [...out.values()];
}

/** Every candidate ref selects, by the rules above, before ambiguity is judged. */
export function matchIds<T extends IdCandidate>(candidates: readonly T[], ref: string): T[] {
  if (ref === '') return [];
  const exact = candidates.filter((c) => c.id === ref || hexOf(c.id) === ref);
  if (exact.length > 0) return exact;
  const named = newestAttempts(candidates.filter((c) => c.names?.includes(ref)));
  if (named.length > 0) return named;
  const prefix = ref.startsWith('sha256:') ? ref.slice('sha256:'.length) : ref;
  if (!/^[0-9a-f]+$/.test(prefix)) return [];
  return newestAttempts(candidates.filter((c) => hexOf(c.id).startsWith(prefix)));
}

/**
 * The one candidate ref names; NotFound when none does, and AmbiguousIdError naming the
 * matches when several do (give more of the id).
 */
export function findById<T extends IdCandidate>(candidates: readonly T[], ref: string, what: string,
  describe: (c: T) => string = (c) => hexOf(c.id).slice(0, 12)): T {
  const matches = matchIds(candidates, ref);
  if (matches.length === 1) return matches[0] as T;
  if (matches.length === 0) throw new NotFoundError(`${what} ${JSON.stringify(ref)} not found`);
  throw new AmbiguousIdError(`${what} ${JSON.stringify(ref)} is ambiguous: it matches ${matches.length} (${matches.map(describe).join(', ')}); give more of the id`);
}

