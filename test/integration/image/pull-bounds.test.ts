// Bounds no compression ratio slips under: a budget of file bytes for all layers of one pull
// (image.max_pull_bytes) and a floor of free space on the image filesystem
// (image.min_free_bytes). A pull over either fails with a clear error and leaves nothing.
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startKeelson, type KeelsonDaemon } from '../../fixtures/daemon.js';
import { buildImage, buildLayer } from '../../fixtures/image-builder.js';
import { startRegistry, type Registry } from '../../fixtures/registry.js';
import { listImageStore, listTree } from '../../fixtures/tree.js';
import { waitFor } from '../../fixtures/wait.js';

let registry: Registry;
const daemons: KeelsonDaemon[] = [];
const suffix = randomBytes(3).toString('hex');
const MiB = 1024 * 1024;

beforeAll(async () => {
  registry = await startRegistry();
});

afterAll(async () => {
  for (const d of daemons) await d.destroy();
  await registry?.stop();
});

async function daemonWith(toml: string): Promise<KeelsonDaemon> {
  const d = await startKeelson({ configToml: `[image]\n${toml}\n` });
  daemons.push(d);
  return d;
}

async function storeState(d: KeelsonDaemon): Promise<unknown> {
  return listImageStore(d.root);
}

describe('pull bounds', () => {
  it('refuses an image whose layers together exceed image.max_pull_bytes, each layer under its own limit', async () => {
    const d = await daemonWith(`max_pull_bytes = ${6 * MiB}`);
    // Zeros compress ~1000:1 and stay under max_compression_ratio: only the budget sees them.
    const layers = await Promise.all([1, 2].map((i) => buildLayer([{ type: 'file', path: `zeros${i}`, content: Buffer.alloc(4 * MiB) }])));
    const image = await buildImage({ base: false, layers });
    await registry.push(`bounds/budget-${suffix}`, image, 'v1');
    const err = await d.client.image.call('PullImage', { image: { image: `${registry.host}/bounds/budget-${suffix}:v1` } })
      .catch((e: unknown) => e) as { code: number; details: string };
    expect(err.code).toBe(status.RESOURCE_EXHAUSTED);
    expect(err.details).toContain(`more than image.max_pull_bytes (${6 * MiB} bytes) in all`);
    // The refused layer leaves nothing (no partial layer dir, no partial download) once the
    // other layer, unpacking alongside, has settled; a layer that finished stays for a later
    // pull to reuse, as after any failed pull.
    const settled = await waitFor('the other layer to settle', async () => {
      const snapshots = (await listTree(join(d.root, 'snapshots'))).filter((p) => !p.includes('/'));
      const ingest = await listTree(join(d.root, 'content', 'ingest'));
      const unpacking = snapshots.filter((p) => p.startsWith('tmp-') && !p.startsWith('tmp-gc-'));
      return unpacking.length === 0 && ingest.length === 0 ? snapshots : undefined;
    });
    expect(settled.filter((p) => !p.startsWith('tmp-')).length).toBeLessThanOrEqual(1);
    expect((await d.client.image.call('ListImages', {})).images ?? []).toEqual([]);
    // One such layer fits.
    const one = await buildImage({ base: false, layers: [layers[0] as (typeof layers)[0]] });
    await registry.push(`bounds/budget-${suffix}`, one, 'one');
    await d.client.image.call('PullImage', { image: { image: `${registry.host}/bounds/budget-${suffix}:one` } });
  });

  it('refuses to write below image.min_free_bytes on the image filesystem', async () => {
    const d = await daemonWith(`min_free_bytes = ${2 ** 50}`);
    const image = await buildImage({ base: false, layers: [[{ type: 'file', path: 'big', content: randomBytes(2 * MiB) }]] });
    await registry.push(`bounds/floor-${suffix}`, image, 'v1');
    const before = await storeState(d);
    const err = await d.client.image.call('PullImage', { image: { image: `${registry.host}/bounds/floor-${suffix}:v1` } })
      .catch((e: unknown) => e) as { code: number; details: string };
    expect(err.code).toBe(status.RESOURCE_EXHAUSTED);
    expect(err.details).toMatch(/free on the image filesystem, below image\.min_free_bytes \(1125899906842624\)/);
    expect(await storeState(d)).toEqual(before);
  });
});
