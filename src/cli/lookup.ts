// Names or unique id prefixes, everywhere: a pod is its name, `namespace/name` or an id
// prefix; a container is its name (unique across pods), `pod/container` or an id prefix.
import type { CriClient } from '../cri/client.js';
import type { Container, PodSandbox } from '../cri/generated/cri-types.js';
import { InvalidArgumentError, NotFoundError } from '../errors.js';
import { shortId } from './output.js';

function pick<T>(what: string, ref: string, matches: T[], describe: (t: T) => string): T {
  if (matches.length === 1) return matches[0] as T;
  if (matches.length === 0) throw new NotFoundError(`no ${what} "${ref}"`);
  throw new InvalidArgumentError(`"${ref}" matches ${matches.length} ${what}s (${matches.map(describe).join(', ')}): give more of the id or namespace/name`);
}

export function matchPods(pods: PodSandbox[], ref: string): PodSandbox[] {
  const byName = pods.filter((p) => p.metadata?.name === ref || `${p.metadata?.namespace ?? ''}/${p.metadata?.name ?? ''}` === ref);
  if (byName.length > 0) return byName;
  return pods.filter((p) => (p.id ?? '').startsWith(ref));
}

export async function findPod(client: CriClient, ref: string): Promise<PodSandbox> {
  const pods = (await client.runtime.call('ListPodSandbox', {})).items ?? [];
  return pick('pod', ref, matchPods(pods, ref), (p) => `${p.metadata?.namespace ?? ''}/${p.metadata?.name ?? ''} ${shortId(p.id, 12)}`);
}

export async function findContainer(client: CriClient, ref: string): Promise<Container> {
  const containers = (await client.runtime.call('ListContainers', {})).containers ?? [];
  const pods = (await client.runtime.call('ListPodSandbox', {})).items ?? [];
  const podName = new Map(pods.map((p) => [p.id ?? '', p.metadata?.name ?? '']));
  const slash = ref.indexOf('/');
  let matches = slash > 0
    ? containers.filter((c) => podName.get(c.pod_sandbox_id ?? '') === ref.slice(0, slash) && c.metadata?.name === ref.slice(slash + 1))
    : containers.filter((c) => c.metadata?.name === ref);
  if (matches.length === 0) matches = containers.filter((c) => (c.id ?? '').startsWith(ref));
  // Several attempts of one container: the newest is meant.
  const newest = new Map<string, Container>();
  for (const c of matches) {
    const key = `${c.pod_sandbox_id ?? ''}/${c.metadata?.name ?? ''}`;
    const seen = newest.get(key);
    if (!seen || (c.metadata?.attempt ?? 0) > (seen.metadata?.attempt ?? 0)) newest.set(key, c);
  }
  return pick('container', ref, [...newest.values()], (c) => `${podName.get(c.pod_sandbox_id ?? '') ?? ''}/${c.metadata?.name ?? ''} ${shortId(c.id, 12)}`);
}
