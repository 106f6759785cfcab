// Names or unique id prefixes, everywhere: a pod is its id, its name, `namespace/name` or an id
// prefix; a container is its id, its name (unique across pods), `pod/container` or an id
// prefix. The matching rules are the daemon's own (src/id-index.ts).
import type { CriClient } from '../client/cri.js';
import type { Container, PodSandbox } from '../cri/generated/cri-types.js';
import { InvalidArgumentError, NotFoundError } from '../errors.js';
import { matchIds, type IdCandidate } from '../id-index.js';
import { shortId } from './output.js';

function pick<T>(what: string, ref: string, matches: T[], describe: (t: T) => string): T {
  if (matches.length === 1) return matches[0] as T;
  if (matches.length === 0) throw new NotFoundError(`no ${what} named or with an id starting "${ref}"`);
  throw new InvalidArgumentError(`"${ref}" matches ${matches.length} ${what}s (${matches.map(describe).join(', ')}): give more of the id or namespace/name`);
}

function podCandidates(pods: PodSandbox[]): Array<IdCandidate & { pod: PodSandbox }> {
  return pods.map((p) => ({
    id: p.id ?? '', pod: p,
    names: [p.metadata?.name ?? '', `${p.metadata?.namespace ?? ''}/${p.metadata?.name ?? ''}`],
  }));
}

export function matchPods(pods: PodSandbox[], ref: string): PodSandbox[] {
  return matchIds(podCandidates(pods), ref).map((c) => c.pod);
}

export async function findPod(client: CriClient, ref: string): Promise<PodSandbox> {
  const pods = (await client.runtime.call('ListPodSandbox', {})).items ?? [];
  return pick('pod', ref, matchPods(pods, ref), (p) => `${p.metadata?.namespace ?? ''}/${p.metadata?.name ?? ''} ${shortId(p.id, 12)}`);
}

export async function findContainer(client: CriClient, ref: string): Promise<Container> {
  const containers = (await client.runtime.call('ListContainers', {})).containers ?? [];
  const pods = (await client.runtime.call('ListPodSandbox', {})).items ?? [];
  const podName = new Map(pods.map((p) => [p.id ?? '', p.metadata?.name ?? '']));
  const candidates = containers.map((c) => {
    const name = c.metadata?.name ?? '';
    return {
      id: c.id ?? '', container: c, names: [name, `${podName.get(c.pod_sandbox_id ?? '') ?? ''}/${name}`],
      // Several attempts of one container: the newest is meant.
      attemptKey: `${c.pod_sandbox_id ?? ''}/${name}`, attempt: c.metadata?.attempt ?? 0,
    };
  });
  const matches = matchIds(candidates, ref).map((c) => c.container);
  return pick('container', ref, matches, (c) => `${podName.get(c.pod_sandbox_id ?? '') ?? ''}/${c.metadata?.name ?? ''} ${shortId(c.id, 12)}`);
}
