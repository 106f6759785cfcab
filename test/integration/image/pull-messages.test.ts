// Errors that say what is wrong: a blob shorter than its descriptor, an image with more layers
// than keelson takes, a hard link refused by the name of the entry (not of its target), and
// nested indexes that lead nowhere for this node or nest too deep.
import { randomBytes } from 'node:crypto';
import { status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startKeelson, type KeelsonDaemon } from '../../fixtures/daemon.js';
import { buildImage, buildLayer, hostPlatform, jsonBlob, MediaType, type Platform } from '../../fixtures/image-builder.js';
import { startProxy } from '../../fixtures/tampering-proxy.js';
import { startRegistry, type Registry } from '../../fixtures/registry.js';

let registry: Registry;
let daemon: KeelsonDaemon;
const suffix = randomBytes(3).toString('hex');

beforeAll(async () => {
  registry = await startRegistry();
  daemon = await startKeelson();
});

afterAll(async () => {
  await daemon?.destroy();
  await registry?.stop();
});

function pull(ref: string): Promise<unknown> {
  return daemon.client.image.call('PullImage', { image: { image: `${registry.host}/${ref}` } });
}

describe('pull error messages', () => {
  it('says where a blob shorter than its descriptor ended', async () => {
    const layer = await buildLayer([{ type: 'file', path: 'f', content: randomBytes(4096) }]);
    const image = await buildImage({ base: false, layers: [layer] });
    await registry.push(`messages/short-${suffix}`, image, 'real');
    const claimed = layer.size + 100;
    const manifest = { ...image.manifestJson, layers: image.manifestJson.layers.map((l) => ({ ...l, size: claimed })) };
    await registry.pushManifest(`messages/short-${suffix}`, 'short', jsonBlob(image.manifest.mediaType, manifest));
    // Through a counting proxy: the registry has no byte past the blob's end, so keelson must
    // not ask again with a Range it cannot serve.
    const proxy = await startProxy(registry.url);
    try {
      const err = await daemon.client.image.call('PullImage', { image: { image: `${proxy.host}/messages/short-${suffix}:short` } })
        .catch((e: unknown) => e) as { code: number; details: string };
      expect(err.code).toBe(status.FAILED_PRECONDITION);
      expect(err.details).toContain(`blob ended at ${layer.size} of the ${claimed} bytes its descriptor says`);
      expect(err.details).not.toContain('416');
      const gets = proxy.gets(layer.digest);
      expect(gets.length).toBeGreaterThan(0);
      expect(gets.filter((g) => g.range !== undefined)).toEqual([]);
    } finally {
      await proxy.stop();
    }
  });

  it('names the layer limit for a 200-layer manifest', async () => {
    const layer = await buildLayer([{ type: 'file', path: 'f', content: 'x' }]);
    const image = await buildImage({ base: false, layers: [layer] });
    await registry.push(`messages/many-${suffix}`, image, 'one');
    const manifest = { ...image.manifestJson, layers: Array.from({ length: 200 }, () => image.manifestJson.layers[0]) };
    await registry.pushManifest(`messages/many-${suffix}`, 'many', jsonBlob(image.manifest.mediaType, manifest));
    const err = await pull(`messages/many-${suffix}:many`).catch((e: unknown) => e) as { code: number; details: string };
    expect(err.code).toBe(status.FAILED_PRECONDITION);
    expect(err.details).toContain("has 200 layers, more than keelson's limit of 127");
    expect(err.details).not.toContain('malformed');
  });

  it('refuses a hard link by its entry name, quoting the target as the target', async () => {
    const layer = await buildLayer([{ type: 'hardlink', path: 'the-link', target: 'missing/target' }]);
    const image = await buildImage({ base: false, layers: [layer] });
    await registry.push(`messages/link-${suffix}`, image, 'v1');
    const err = await pull(`messages/link-${suffix}:v1`).catch((e: unknown) => e) as { code: number; details: string };
    expect(err.code).toBe(status.FAILED_PRECONDITION);
    expect(err.details).toMatch(/refusing tar entry "the-link": hard link target "missing\/target"/);
  });
});

const mine = hostPlatform();
const other: Platform = { os: 'linux', architecture: mine.architecture === 'arm64' ? 'amd64' : 'arm64' };
const text = (p: Platform): string => `${p.os}/${p.architecture}${p.variant ? `/${p.variant}` : ''}`;

/** Pushes an index (by digest, or under `tag`) whose one child is `child` for `platform`; returns its digest and size. */
async function pushIndex(repo: string, child: { mediaType: string; digest: string; size: number }, platform: Platform,
  tag?: string, extra: unknown[] = []): Promise<{ mediaType: string; digest: string; size: number }> {
  const blob = jsonBlob(MediaType.ociIndex, { schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: [{ ...child, platform }, ...extra] });
  await registry.pushManifest(repo, tag ?? blob.digest, blob);
  return { mediaType: MediaType.ociIndex, digest: blob.digest, size: blob.size };
}

describe('nested indexes', () => {
  it('names the inner index and what it offers when it has nothing for this node', async () => {
    const repo = `messages/inner-${suffix}`;
    const image = await buildImage({ base: false, layers: [await buildLayer([{ type: 'file', path: 'f', content: 'x' }])] });
    await registry.push(repo, image, 'image');
    const manifest = { mediaType: image.manifest.mediaType, digest: image.manifest.digest, size: image.manifest.size };
    // The outer index offers this node's platform, but the index it points at has an image for
    // another only, and for this node's platform a document that is not an image.
    const attestation = { mediaType: 'application/vnd.in-toto+json', digest: image.config.digest, size: image.config.size, platform: mine };
    const inner = await pushIndex(repo, manifest, other, undefined, [attestation]);
    await pushIndex(repo, inner, mine, 'outer');
    const err = await pull(`${repo}:outer`).catch((e: unknown) => e) as { code: number; details: string };
    expect(err.code).toBe(status.NOT_FOUND);
    expect(err.details).toContain(`index ${inner.digest} of ${registry.host}/${repo}:outer has no image for this node's platform ${text(mine)}`);
    expect(err.details).toContain(`(it offers: ${text(other)}, ${text(mine)} (application/vnd.in-toto+json, not an image))`);
  });

  it('follows indexes four deep and names the limit past it', async () => {
    const repo = `messages/deep-${suffix}`;
    const image = await buildImage({ base: false, layers: [await buildLayer([{ type: 'file', path: 'deep', content: 'd' }])] });
    await registry.push(repo, image, 'image');
    let child = { mediaType: image.manifest.mediaType, digest: image.manifest.digest, size: image.manifest.size };
    const first = child = await pushIndex(repo, child, mine);
    for (let i = 0; i < 2; i++) child = await pushIndex(repo, child, mine);
    // Four indexes, the outermost tagged: within the limit.
    const fourth = await pushIndex(repo, child, mine, 'four');
    await expect(pull(`${repo}:four`)).resolves.toMatchObject({ image_ref: image.config.digest });
    // A fifth around them is one too many; the error names the limit and the index it stopped at.
    await pushIndex(repo, fourth, mine, 'five');
    const err = await pull(`${repo}:five`).catch((e: unknown) => e) as { code: number; details: string };
    expect(err.code).toBe(status.FAILED_PRECONDITION);
    expect(err.details).toContain(`${registry.host}/${repo}:five: indexes nest deeper than 4 levels (at ${first.digest})`);
  });
});
