// PullImage, ImageStatus, ListImages, RemoveImage and ImageFsInfo through the CRI socket
// against the real registry fixture.
import { existsSync, lstatSync, readFileSync, statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import { status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lgetxattr, mountOverlay, umount } from '../../../src/native.js';
import { startKeelson, type KeelsonDaemon } from '../../fixtures/daemon.js';
import {
  buildBaseLayer, buildImage, buildIndex, FIXTURE, hostPlatform, imageForPlatform, type LayerBlob,
} from '../../fixtures/image-builder.js';
import { startRegistry, type Registry } from '../../fixtures/registry.js';
import { listImageStore } from '../../fixtures/tree.js';

let registry: Registry;
let daemon: KeelsonDaemon;
let base: LayerBlob;
const suffix = randomBytes(3).toString('hex');

function chainIds(diffIds: string[]): string[] {
  const out: string[] = [];
  for (const d of diffIds) {
    const prev = out[out.length - 1];
    out.push(prev === undefined ? d : `sha256:${createHash('sha256').update(`${prev} ${d}`).digest('hex')}`);
  }
  return out;
}

function layerFs(chainId: string): string {
  return join(daemon.root, 'snapshots', chainId.slice('sha256:'.length), 'fs');
}

async function imageDirs(): Promise<{ content: string[]; snapshots: string[] }> {
  return listImageStore(daemon.root);
}

beforeAll(async () => {
  registry = await startRegistry();
  daemon = await startKeelson();
  base = await buildBaseLayer();
});

afterAll(async () => {
  await daemon?.destroy();
  await registry?.stop();
});

describe('PullImage', () => {
  it('pulls by tag and answers ImageStatus by tag, digest, id and id prefix', async () => {
    const image = await buildImage({ baseLayer: base, config: { User: '1000:1000' } });
    const digest = await registry.push(`pull/tag-${suffix}`, image, 'v1');
    const name = `${registry.host}/pull/tag-${suffix}:v1`;
    const pulled = await daemon.client.image.call('PullImage', { image: { image: name } });
    expect(pulled.image_ref).toBe(image.config.digest);

    for (const ref of [name, `${registry.host}/pull/tag-${suffix}@${digest}`, image.config.digest, image.config.digest.slice(7, 19)]) {
      const st = await daemon.client.image.call('ImageStatus', { image: { image: ref }, verbose: true });
      expect(st.image?.id, ref).toBe(image.config.digest);
      expect(st.image?.repo_tags).toEqual([name]);
      expect(st.image?.repo_digests).toEqual([`${registry.host}/pull/tag-${suffix}@${digest}`]);
      expect(st.image?.uid?.value).toBe('1000');
      expect(Number(st.image?.size)).toBe(image.config.size + image.layers.reduce((s, l) => s + l.size, 0));
      const info = JSON.parse(st.info?.info ?? '{}') as { imageSpec?: { config?: { User?: string } } };
      expect(info.imageSpec?.config?.User).toBe('1000:1000');
    }
    // The layer is unpacked in its own snapshot dir, and the blobs are in the content store.
    const [chain] = chainIds(image.configJson.rootfs.diff_ids);
    expect(statSync(join(layerFs(chain as string), 'bin', 'busybox')).isFile()).toBe(true);
    expect(readFileSync(join(layerFs(chain as string), 'etc', 'passwd'), 'utf8')).toContain('user:x:1000');
    for (const blob of [image.config, ...image.layers, image.manifest]) {
      expect(existsSync(join(daemon.root, 'content', 'blobs', 'sha256', blob.digest.slice(7)))).toBe(true);
    }
    const list = await daemon.client.image.call('ListImages', {});
    expect(list.images?.map((i) => i.id)).toContain(image.config.digest);
    const filtered = await daemon.client.image.call('ListImages', { filter: { image: { image: name } } });
    expect(filtered.images?.map((i) => i.id)).toEqual([image.config.digest]);
  });

  it('pulls by digest and by tag@digest, docker schema 2 and uncompressed layers', async () => {
    const image = await buildImage({ format: 'docker', compression: 'none', layers: [[{ type: 'file', path: 'marker', content: suffix }]] });
    const repo = `${registry.host}/pull/docker-${suffix}`;
    const digest = await registry.push(`pull/docker-${suffix}`, image, 'v2');
    const byDigest = await daemon.client.image.call('PullImage', { image: { image: `${repo}@${digest}` } });
    expect(byDigest.image_ref).toBe(image.config.digest);
    const st = await daemon.client.image.call('ImageStatus', { image: { image: `${repo}@${digest}` } });
    expect(st.image?.repo_tags).toEqual([]);
    const both = await daemon.client.image.call('PullImage', { image: { image: `${repo}:v2@${digest}` } });
    expect(both.image_ref).toBe(image.config.digest);
    const chains = chainIds(image.configJson.rootfs.diff_ids);
    expect(readFileSync(join(layerFs(chains[1] as string), 'marker'), 'utf8')).toBe(suffix);
  });

  it('picks this node\'s platform from a multi-arch index', async () => {
    const index = await buildIndex({ baseLayer: base });
    const repo = `pull/multi-${suffix}`;
    await registry.push(repo, index, 'latest');
    const mine = imageForPlatform(index, hostPlatform());
    const pulled = await daemon.client.image.call('PullImage', { image: { image: `${registry.host}/${repo}` } });
    expect(pulled.image_ref).toBe(mine.config.digest);
    const chains = chainIds(mine.configJson.rootfs.diff_ids);
    const arch = readFileSync(join(layerFs(chains[chains.length - 1] as string), 'etc', 'arch'), 'utf8');
    expect(arch.trim()).toBe(hostPlatform().architecture);
  });

  it('gives the right merged view of whiteouts and an opaque dir when mounted as overlay', async () => {
    const image = await buildImage({ baseLayer: base, fixtureLayers: true });
    await registry.push(`pull/fixture-${suffix}`, image, 'latest');
    await daemon.client.image.call('PullImage', { image: { image: `${registry.host}/pull/fixture-${suffix}` } });
    const chains = chainIds(image.configJson.rootfs.diff_ids);
    const mnt = await mkdtemp(join(tmpdir(), 'keelson-merged-'));
    try {
      await mountOverlay(mnt, { lower: chains.map(layerFs).reverse() });
      try {
        expect(existsSync(join(mnt, 'etc/passwd'))).toBe(true);
        expect(existsSync(join(mnt, FIXTURE.deleted.path))).toBe(false);
        expect(existsSync(join(mnt, FIXTURE.stale.path))).toBe(false);
        expect(readFileSync(join(mnt, FIXTURE.fresh.path), 'utf8')).toBe(FIXTURE.fresh.content);
        expect(readFileSync(join(mnt, FIXTURE.hello.path), 'utf8')).toBe(FIXTURE.hello.content);
        expect(readFileSync(join(mnt, FIXTURE.symlink.path), 'utf8')).toBe(FIXTURE.hello.content);
        expect(statSync(join(mnt, FIXTURE.hardlink.path)).ino).toBe(statSync(join(mnt, FIXTURE.hello.path)).ino);
        expect(statSync(join(mnt, FIXTURE.setuid.path)).mode & 0o7777).toBe(FIXTURE.setuid.mode);
        const owned = statSync(join(mnt, FIXTURE.owned.path));
        expect([owned.uid, owned.gid, owned.mode & 0o777]).toEqual([FIXTURE.owned.uid, FIXTURE.owned.gid, FIXTURE.owned.mode]);
        expect(statSync(join(mnt, FIXTURE.hello.path)).mtime.toISOString()).toBe('2024-01-01T00:00:00.000Z');
      } finally {
        await umount(mnt);
      }
    } finally {
      await rm(mnt, { recursive: true, force: true });
    }
  });

  it('keeps devices, fifos, owners, setgid/sticky modes, symlink mtimes and xattrs', async () => {
    const image = await buildImage({ base: false, layers: [[
      { type: 'dir', path: 'dev/' },
      { type: 'char', path: 'dev/null', major: 1, minor: 3, mode: 0o666 },
      { type: 'block', path: 'dev/loop9', major: 7, minor: 9, mode: 0o660, gid: 6 },
      { type: 'fifo', path: 'dev/pipe', mode: 0o620 },
      { type: 'dir', path: 'shared/', mode: 0o3777, uid: 1000, gid: 2000 },
      { type: 'file', path: 'shared/sgid', content: 'g', mode: 0o2755, uid: 1000, gid: 1000 },
      { type: 'symlink', path: 'shared/link', target: 'sgid', mtime: new Date(Date.UTC(2020, 5, 1)) },
      { type: 'file', path: 'xattr', content: 'x', pax: { 'SCHILY.xattr.user.origin': 'keelson' } },
    ]] });
    await registry.push(`pull/special-${suffix}`, image, 'v1');
    await daemon.client.image.call('PullImage', { image: { image: `${registry.host}/pull/special-${suffix}:v1` } });
    const fs = layerFs(image.configJson.rootfs.diff_ids[0] as string);
    const nul = lstatSync(join(fs, 'dev/null'));
    expect([nul.isCharacterDevice(), nul.rdev, nul.mode & 0o7777]).toEqual([true, (1 << 8) | 3, 0o666]);
    const loop = lstatSync(join(fs, 'dev/loop9'));
    expect([loop.isBlockDevice(), loop.rdev, loop.gid]).toEqual([true, (7 << 8) | 9, 6]);
    expect(lstatSync(join(fs, 'dev/pipe')).isFIFO()).toBe(true);
    const shared = lstatSync(join(fs, 'shared'));
    expect([shared.mode & 0o7777, shared.uid, shared.gid]).toEqual([0o3777, 1000, 2000]);
    const sgid = lstatSync(join(fs, 'shared/sgid'));
    expect([sgid.mode & 0o7777, sgid.uid, sgid.gid]).toEqual([0o2755, 1000, 1000]);
    expect(lstatSync(join(fs, 'shared/link')).mtime.toISOString()).toBe('2020-06-01T00:00:00.000Z');
    expect(lgetxattr(join(fs, 'xattr'), 'user.origin')?.toString()).toBe('keelson');
  });

  it('RemoveImage by name, digest or id leaves content and snapshot dirs as before the pull', async () => {
    const before = await imageDirs();
    for (const how of ['name', 'digest', 'id'] as const) {
      const image = await buildImage({ base: false, layers: [[{ type: 'file', path: `rm-${how}`, content: `${suffix}-${how}` }]] });
      const repo = `pull/rm-${how}-${suffix}`;
      const digest = await registry.push(repo, image, 'x');
      const name = `${registry.host}/${repo}:x`;
      await daemon.client.image.call('PullImage', { image: { image: name } });
      expect(await imageDirs()).not.toEqual(before);
      const ref = how === 'name' ? name : how === 'digest' ? `${registry.host}/${repo}@${digest}` : image.config.digest;
      await daemon.client.image.call('RemoveImage', { image: { image: ref } });
      const st = await daemon.client.image.call('ImageStatus', { image: { image: name } });
      expect(st.image ?? null).toBeNull();
      expect(await imageDirs()).toEqual(before);
    }
    // Removing what is not there is not an error.
    await daemon.client.image.call('RemoveImage', { image: { image: `${registry.host}/pull/never-${suffix}` } });
  });

  it('reports ImageFsInfo', async () => {
    const res = await daemon.client.image.call('ImageFsInfo', {});
    const fs = res.image_filesystems?.[0];
    expect(fs?.fs_id?.mountpoint).toBe(join(daemon.root, 'snapshots'));
    expect(Number(fs?.used_bytes?.value)).toBeGreaterThan(1_000_000);
    expect(Number(fs?.inodes_used?.value)).toBeGreaterThan(10);
  });

  it('answers clear errors for bad references and missing images', async () => {
    await expect(daemon.client.image.call('PullImage', { image: { image: 'Not//Valid' } })).rejects.toMatchObject({
      code: status.INVALID_ARGUMENT, details: expect.stringMatching(/invalid image reference/),
    });
    await expect(daemon.client.image.call('PullImage', { image: { image: `${registry.host}/pull/missing-${suffix}:nope` } })).rejects.toMatchObject({
      code: status.NOT_FOUND, details: expect.stringContaining(`registry ${registry.host} repository pull/missing-${suffix}`),
    });
    const st = await daemon.client.image.call('ImageStatus', { image: { image: 'docker.io/library/not-pulled:1' } });
    expect(st.image ?? null).toBeNull();
  });
});

describe('layer compression and mirrors', () => {
  it('unpacks a zstd layer (through the zstd binary)', async () => {
    const { execa } = await import('execa');
    const { makeBlob, sha256Digest, tarEntries } = await import('../../fixtures/image-builder.js');
    const tar = await tarEntries([{ type: 'dir', path: 'z/' }, { type: 'file', path: 'z/file', content: `zstd ${suffix}` }]);
    const { stdout } = await execa('zstd', ['-q', '-c', '-19'], { input: tar, encoding: 'buffer' });
    const layer = { ...makeBlob('application/vnd.oci.image.layer.v1.tar+zstd', Buffer.from(stdout)), diffId: sha256Digest(tar), tar };
    const image = await buildImage({ base: false, layers: [layer] });
    await registry.push(`pull/zstd-${suffix}`, image, 'v1');
    const res = await daemon.client.image.call('PullImage', { image: { image: `${registry.host}/pull/zstd-${suffix}:v1` } });
    expect(res.image_ref).toBe(image.config.digest);
    expect(readFileSync(join(layerFs(layer.diffId), 'z', 'file'), 'utf8')).toBe(`zstd ${suffix}`);
  });

  it('maps docker.io to a mirror that stands in for it entirely, keeping the repository path', async () => {
    const image = await buildImage({ base: false, layers: [[{ type: 'file', path: 'mirror', content: suffix }]] });
    await registry.push(`library/mirrored-${suffix}`, image, 'latest');
    const mirrored = await startKeelson({ configToml: `[image.registries."docker.io"]\nmirrors = ["${registry.host}"]\n` });
    try {
      const res = await mirrored.client.image.call('PullImage', { image: { image: `mirrored-${suffix}` } });
      expect(res.image_ref).toBe(image.config.digest);
      const st = await mirrored.client.image.call('ImageStatus', { image: { image: `docker.io/library/mirrored-${suffix}:latest` } });
      expect(st.image?.repo_tags).toEqual([`docker.io/library/mirrored-${suffix}:latest`]);
      // No fallback to the real Docker Hub: a name the mirror lacks is NotFound from the mirror.
      await expect(mirrored.client.image.call('PullImage', { image: { image: `absent-${suffix}` } })).rejects.toMatchObject({
        code: status.NOT_FOUND, details: expect.stringContaining(`repository library/absent-${suffix}`),
      });
    } finally {
      await mirrored.destroy();
    }
  });
});
