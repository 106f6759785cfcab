// Errors that say what is wrong: a blob shorter than its descriptor, an image with more layers
// than keelson takes, and a hard link refused by the name of the entry (not of its target).
import { randomBytes } from 'node:crypto';
import { status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startKeelson, type KeelsonDaemon } from '../../fixtures/daemon.js';
import { buildImage, buildLayer, jsonBlob } from '../../fixtures/image-builder.js';
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
    const err = await pull(`messages/short-${suffix}:short`).catch((e: unknown) => e) as { code: number; details: string };
    expect(err.code).toBe(status.FAILED_PRECONDITION);
    expect(err.details).toContain(`blob ended at ${layer.size} of the ${claimed} bytes its descriptor says`);
    expect(err.details).not.toContain('416');
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
