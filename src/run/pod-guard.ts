// One pod per namespace/name for `keelson run`, as the API server guarantees under kubelet:
// a run of a pod that exists is refused (or, with --replace, removes the old one first), and
// two concurrent runs of the same pod are serialised by an flock under the root. A lock
// rather than check-after-create: the loser is refused before it pulls, makes volumes or a
// sandbox, so nothing has to be undone, and the kernel drops the lock if the CLI dies.
import { mkdirSync, readFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { CriClient } from '../client/cri.js';
import type { PodSandbox } from '../cri/generated/cri-types.js';
import { AlreadyExistsError } from '../errors.js';
import { shortId } from '../id-index.js';
import type { FileLock } from '../native.js';
import { POD_SPEC_ANNOTATION } from '../supervisor/annotations.js';

const STATES: Record<string, string> = { SANDBOX_READY: 'Running', SANDBOX_NOTREADY: 'Stopped' };

/** Takes `<root>/run-locks/<ns>_<name>.lock`; refuses when another `keelson run` holds it. */
export async function lockPodName(root: string, namespace: string, name: string): Promise<FileLock> {
  // The addon is loaded on demand: the CLI's other commands must not load it (module-graph test).
  const { tryLockFile } = await import('../native.js');
  const dir = join(root, 'run-locks');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const path = join(dir, `${namespace}_${name}.lock`);
  const lock = tryLockFile(path);
  if (!lock) {
    let holder = '';
    try {
      holder = readFileSync(path, 'utf8').trim();
    } catch {
      // the holder's pid is only for the message
    }
    throw new AlreadyExistsError(`pod ${namespace}/${name} is being started by another \`keelson run\`${holder ? ` (pid ${holder})` : ''}: wait for it, or remove the pod afterwards`);
  }
  writeSync(lock.fd, `${process.pid}\n`, 0);
  return lock;
}

/** The pod sandboxes `keelson run` made (any state) with this namespace/name. */
export async function existingPods(client: CriClient, namespace: string, name: string): Promise<PodSandbox[]> {
  const items = (await client.runtime.call('ListPodSandbox', {})).items ?? [];
  return items.filter((p) => p.metadata?.namespace === namespace && p.metadata?.name === name && p.annotations?.[POD_SPEC_ANNOTATION] !== undefined);
}

export function alreadyExists(p: PodSandbox, namespace: string, name: string): AlreadyExistsError {
  const id = shortId(p.id, 12);
  const state = STATES[p.state ?? ''] ?? p.state ?? 'unknown';
  return new AlreadyExistsError(`pod ${namespace}/${name} already exists (id ${id}, ${state}): remove it with \`keelson down FILE\` or \`keelson rm ${namespace === 'default' ? name : `${namespace}/${name}`}\`, or run with --replace`);
}
