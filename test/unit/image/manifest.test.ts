import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { layerCompression, MediaTypes, parseImageConfig, parseManifest, selectPlatform, type ImageIndex } from '../../../src/image/manifest.js';
import { chainIds } from '../../../src/image/image-service.js';

const D = (c: string): string => `sha256:${c.repeat(64)}`;
const json = (v: unknown): Buffer => Buffer.from(JSON.stringify(v));

describe('parseManifest', () => {
  const manifest = { schemaVersion: 2, mediaType: MediaTypes.ociManifest, config: { mediaType: MediaTypes.ociConfig, digest: D('a'), size: 10 }, layers: [] };

  it('accepts OCI and Docker schema 2 manifests and indexes', () => {
    expect(parseManifest(json(manifest), '', 'm').kind).toBe('image');
    expect(parseManifest(json({ ...manifest, mediaType: MediaTypes.dockerManifest }), '', 'm').kind).toBe('image');
    expect(parseManifest(json({ schemaVersion: 2, manifests: [] }), MediaTypes.ociIndex, 'm').kind).toBe('index');
    expect(parseManifest(json({ schemaVersion: 2, mediaType: MediaTypes.dockerList, manifests: [] }), '', 'm').kind).toBe('index');
  });

  it('rejects schema 1 and unknown media types clearly', () => {
    expect(() => parseManifest(json({ schemaVersion: 1, name: 'x', fsLayers: [] }), 'application/vnd.docker.distribution.manifest.v1+prettyjws', 'm'))
      .toThrow(/schema 1 manifest/);
    expect(() => parseManifest(json({ ...manifest, mediaType: 'application/x-weird' }), '', 'm')).toThrow(/unsupported media type "application\/x-weird"/);
  });

  it('rejects malformed documents naming the field', () => {
    expect(() => parseManifest(Buffer.from('{'), '', 'manifest of x')).toThrow(/manifest of x is not valid JSON/);
    expect(() => parseManifest(json({ ...manifest, config: { ...manifest.config, digest: 'sha256:zz' } }), '', 'm')).toThrow(/\/config\/digest/);
    expect(() => parseManifest(json({ ...manifest, layers: 'no' }), '', 'm')).toThrow(/\/layers/);
  });

  it('knows layer compressions and refuses others', () => {
    expect(layerCompression({ mediaType: 'application/vnd.oci.image.layer.v1.tar+zstd', digest: D('b'), size: 1 }, 'x')).toBe('zstd');
    expect(layerCompression({ mediaType: 'application/vnd.docker.image.rootfs.diff.tar.gzip', digest: D('b'), size: 1 }, 'x')).toBe('gzip');
    expect(() => layerCompression({ mediaType: 'application/vnd.oci.image.layer.v1.tar+lz4', digest: D('b'), size: 1 }, 'x')).toThrow(/unsupported media type/);
  });
});

describe('parseImageConfig', () => {
  it('needs rootfs diff ids', () => {
    expect(parseImageConfig(json({ rootfs: { type: 'layers', diff_ids: [D('c')] } }), 'c').rootfs.diff_ids).toEqual([D('c')]);
    expect(() => parseImageConfig(json({ architecture: 'amd64' }), 'config x')).toThrow(/config x is malformed/);
  });
});

describe('selectPlatform', () => {
  const entry = (architecture: string, variant?: string): ImageIndex['manifests'][number] => ({
    mediaType: MediaTypes.ociManifest, digest: D(architecture === 'amd64' ? '1' : variant === 'v7' ? '2' : variant === 'v6' ? '3' : '4'), size: 1,
    platform: { os: 'linux', architecture, ...(variant ? { variant } : {}) },
  });
  const index: ImageIndex = { schemaVersion: 2, manifests: [entry('arm', 'v6'), entry('arm', 'v7'), entry('amd64'), entry('arm64', 'v8')] };

  it('picks os/arch/variant', () => {
    expect(selectPlatform(index, { os: 'linux', architecture: 'amd64' }, 'i').digest).toBe(D('1'));
    expect(selectPlatform(index, { os: 'linux', architecture: 'arm', variant: 'v7' }, 'i').digest).toBe(D('2'));
    expect(selectPlatform(index, { os: 'linux', architecture: 'arm64', variant: 'v8' }, 'i').digest).toBe(D('4'));
  });

  it('names what it offers when nothing fits', () => {
    expect(() => selectPlatform(index, { os: 'linux', architecture: 's390x' }, 'index of x')).toThrow(/no image for this node's platform linux\/s390x \(it offers: linux\/arm\/v6, linux\/arm\/v7, linux\/amd64, linux\/arm64\/v8\)/);
  });
});

describe('chainIds', () => {
  it('follows the OCI definition', () => {
    const [a, b] = [D('a'), D('b')];
    const ids = chainIds([a, b]);
    expect(ids[0]).toBe(a);
    expect(ids[1]).toBe(`sha256:${createHash('sha256').update(`${a} ${b}`).digest('hex')}`);
  });
});
