// Containers and pods named on the command line: a name (metadata.name), a full id or a unique
// id prefix, resolved through ListContainers / ListPodSandbox as crictl does.
import type { CriClient } from '../cri/client.js';
import { shortId } from './output.js';

function pick(what: string, wanted: string, items: Array<{ id: string; name: string }>): string {
  const exact = items.filter((i) => i.id === wanted || i.name === wanted);
  const byPrefix = exact.length > 0 ? exact : items.filter((i) => i.id.startsWith(wanted));
  if (byPrefix.length === 1) return (byPrefix[0] as { id: string }).id;
  if (byPrefix.length === 0) throw new Error(`no ${what} named or with an id starting "${wanted}"`);
  throw new Error(`"${wanted}" matches ${byPrefix.length} ${what}s: ${byPrefix.map((i) => `${i.name} (${shortId(i.id, 12)})`).join(', ')}`);
}

export async function resolveContainer(client: CriClient, wanted: string): Promise<string> {
  const list = await client.runtime.call('ListContainers', {});
  return pick('container', wanted, (list.containers ?? []).map((c) => ({ id: c.id ?? '', name: c.metadata?.name ?? '' })));
}

export async function resolvePod(client: CriClient, wanted: string): Promise<string> {
  const list = await client.runtime.call('ListPodSandbox', {});
  return pick('pod', wanted, (list.items ?? []).map((p) => ({ id: p.id ?? '', name: p.metadata?.name ?? '' })));
}
