// Names or unique id prefixes, everywhere: a pod is its id, its name, `namespace/name` or an id
// prefix; a container is its id, its name (unique across pods), `pod/container` or an id
// prefix. The matching rules are the daemon's own (src/id-index.ts). `-n NS` narrows both to
// the pods of one namespace, as kubectl's.
import type { CriClient } from '../client/cri.js';
import type { Container, PodSandbox } from '../cri/generated/cri-types.js';
import { NotFoundError } from '../errors.js';
import { AmbiguousIdError, matchIds, shortId, type IdCandidate } from '../id-index.js';
import { CONTAINER_KIND_LABEL, POD_SPEC_ANNOTATION } from '../supervisor/annotations.js';

/** Where a lookup looks: all pods, or those of one namespace. */
export interface Scope {
  namespace?: string | undefined;
}

function pick<T>(what: string, ref: string, matches: T[], describe: (t: T) => string, scope: Scope = {}): T {
  if (matches.length === 1) return matches[0] as T;
  const where = scope.namespace !== undefined ? ` in namespace "${scope.namespace}"` : '';
  if (matches.length === 0) throw new NotFoundError(`no ${what} named or with an id starting "${ref}"${where}`);
  throw new AmbiguousIdError(`"${ref}" matches ${matches.length} ${what}s (${matches.map(describe).join(', ')}): give more of the id, namespace/name or -n`);
}

const podLabel = (p: PodSandbox): string => `${p.metadata?.namespace ?? ''}/${p.metadata?.name ?? ''}`;

function podCandidates(pods: PodSandbox[]): Array<IdCandidate & { pod: PodSandbox }> {
  return pods.map((p) => ({ id: p.id ?? '', pod: p, names: [p.metadata?.name ?? '', podLabel(p)] }));
}

export function inScope(pods: PodSandbox[], scope: Scope = {}): PodSandbox[] {
  return scope.namespace === undefined ? pods : pods.filter((p) => p.metadata?.namespace === scope.namespace);
}

export function matchPods(pods: PodSandbox[], ref: string): PodSandbox[] {
  return matchIds(podCandidates(pods), ref).map((c) => c.pod);
}

export async function listPods(client: CriClient, scope: Scope = {}): Promise<PodSandbox[]> {
  return inScope((await client.runtime.call('ListPodSandbox', {})).items ?? [], scope);
}

export async function findPod(client: CriClient, ref: string, scope: Scope = {}): Promise<PodSandbox> {
  const pods = await listPods(client, scope);
  return pick('pod', ref, matchPods(pods, ref), (p) => `${podLabel(p)} ${shortId(p.id, 12)}`, scope);
}

interface Listing {
  pods: PodSandbox[];
  containers: Container[];
  podName: Map<string, string>;
}

async function listing(client: CriClient, scope: Scope): Promise<Listing> {
  const pods = await listPods(client, scope);
  const ids = new Set(pods.map((p) => p.id ?? ''));
  const containers = ((await client.runtime.call('ListContainers', {})).containers ?? []).filter((c) => ids.has(c.pod_sandbox_id ?? ''));
  return { pods, containers, podName: new Map(pods.map((p) => [p.id ?? '', p.metadata?.name ?? ''])) };
}

function matchContainers(l: Listing, ref: string): Container[] {
  const candidates = l.containers.map((c) => {
    const name = c.metadata?.name ?? '';
    return {
      id: c.id ?? '', container: c, names: [name, `${l.podName.get(c.pod_sandbox_id ?? '') ?? ''}/${name}`],
      // Several attempts of one container: the newest is meant.
      attemptKey: `${c.pod_sandbox_id ?? ''}/${name}`, attempt: c.metadata?.attempt ?? 0,
    };
  });
  return matchIds(candidates, ref).map((c) => c.container);
}

const describeContainer = (l: Listing) => (c: Container): string => `${l.podName.get(c.pod_sandbox_id ?? '') ?? ''}/${c.metadata?.name ?? ''} ${shortId(c.id, 12)}`;

export async function findContainer(client: CriClient, ref: string, scope: Scope = {}): Promise<Container> {
  const l = await listing(client, scope);
  return pick('container', ref, matchContainers(l, ref), describeContainer(l), scope);
}

/** The newest attempt of each container of a pod, in the pod spec's order (app containers first). */
function containersOf(l: Listing, pod: PodSandbox): Container[] {
  const newest = new Map<string, Container>();
  for (const c of l.containers) {
    if (c.pod_sandbox_id !== pod.id) continue;
    const name = c.metadata?.name ?? '';
    const seen = newest.get(name);
    if (!seen || (c.metadata?.attempt ?? 0) > (seen.metadata?.attempt ?? 0)) newest.set(name, c);
  }
  return [...newest.values()].sort((a, b) => Number(BigInt(a.created_at ?? '0') - BigInt(b.created_at ?? '0')));
}

/**
 * kubectl's default container of a pod: the `kubectl.kubernetes.io/default-container`
 * annotation, else the first container of the spec (for pods without keelson's spec, the
 * oldest app container).
 */
function defaultContainer(pod: PodSandbox, containers: Container[]): Container | undefined {
  const spec = pod.annotations?.[POD_SPEC_ANNOTATION];
  const parsed = spec ? (JSON.parse(spec) as { metadata?: { annotations?: Record<string, string> }; spec?: { containers?: Array<{ name?: string }> } }) : null;
  const named = parsed?.metadata?.annotations?.['kubectl.kubernetes.io/default-container'] ?? parsed?.spec?.containers?.[0]?.name;
  if (named) return containers.find((c) => c.metadata?.name === named);
  return containers.find((c) => c.labels?.[CONTAINER_KIND_LABEL] !== 'init');
}

export interface Target {
  container: Container;
  pod: PodSandbox | undefined;
}

/**
 * What `exec`, `logs` and `attach` act on, as kubectl reads their argument: a pod (its default
 * container, or `-c NAME`), `pod/container`, or a container name or id. A pod's name wins over a
 * container of the same name elsewhere, as in kubectl, where the argument is always a pod.
 */
export async function findTarget(client: CriClient, ref: string, opts: Scope & { container?: string | undefined }): Promise<Target> {
  const l = await listing(client, opts);
  const podOf = (c: Container): PodSandbox | undefined => l.pods.find((p) => p.id === c.pod_sandbox_id);
  const inPod = (pod: PodSandbox): Target => {
    const all = containersOf(l, pod);
    const names = all.map((c) => c.metadata?.name ?? '');
    const isInit = (c: Container): boolean => c.labels?.[CONTAINER_KIND_LABEL] === 'init';
    const c = opts.container !== undefined ? all.find((x) => x.metadata?.name === opts.container) : defaultContainer(pod, all);
    if (!c) {
      const which = opts.container !== undefined ? `container "${opts.container}"` : 'a container';
      throw new NotFoundError(`pod ${podLabel(pod)} has no ${which} (containers: ${names.join(', ') || 'none'})`);
    }
    const apps = all.filter((x) => !isInit(x)).map((x) => x.metadata?.name ?? '');
    const inits = all.filter(isInit).map((x) => x.metadata?.name ?? '');
    if (opts.container === undefined && all.length > 1) {
      // kubectl's words, so scripts that filter them keep working.
      process.stderr.write(`Defaulted container "${c.metadata?.name ?? ''}" out of: ${apps.join(', ')}${inits.length > 0 ? ` (init: ${inits.join(', ')})` : ''}\n`);
    }
    return { container: c, pod };
  };
  if (opts.container !== undefined) {
    return inPod(pick('pod', ref, matchPods(l.pods, ref), (p) => `${podLabel(p)} ${shortId(p.id, 12)}`, opts));
  }
  const byName = l.pods.filter((p) => p.metadata?.name === ref || podLabel(p) === ref);
  if (byName.length > 0) return inPod(pick('pod', ref, byName, (p) => `${podLabel(p)} ${shortId(p.id, 12)}`, opts));
  const containers = matchContainers(l, ref);
  if (containers.length > 0) {
    const c = pick('container', ref, containers, describeContainer(l), opts);
    return { container: c, pod: podOf(c) };
  }
  const pods = matchPods(l.pods, ref);
  if (pods.length > 0) return inPod(pick('pod', ref, pods, (p) => `${podLabel(p)} ${shortId(p.id, 12)}`, opts));
  const where = opts.namespace !== undefined ? ` in namespace "${opts.namespace}"` : '';
  throw new NotFoundError(`no pod or container named or with an id starting "${ref}"${where}`);
}
