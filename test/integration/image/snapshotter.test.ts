// Container root filesystems on overlay snapshots, driven in-process (the container service
// calls these; no CRI method exposes them on their own): mount, write, usage, leases that
// keep layers after RemoveImage, and idempotent removal.
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ImageService } from '../../../src/image/image-service.js';
import { openDatabase, type Db } from '../../../src/store/database.js';
import { buildImage, FIXTURE, type BuiltImage } from '../../fixtures/image-builder.js';
import { startRegistry, type Registry } from '../../fixtures/registry.js';

let registry: Registry;
let root: string;
let db: Db;
let images: ImageService;
let image: BuiltImage;
const suffix = randomBytes(3).toString('hex');
const containers: string[] = [];

function mounted(path: string): boolean {
  return readFileSync('/proc/self/mountinfo', 'utf8').split('\n').some((l) => l.split(' ')[4] === path);
}

beforeAll(async () => {
  registry = await startRegistry();
  root = await mkdtemp(join(tmpdir(), 'keelson-snap-'));
  db = openDatabase(join(root, 'keelson.db'));
  images = new ImageService({
    root, db, log: pino({ level: 'silent' }), unpackConcurrency: 4, ingestMaxAgeMs: 60_000,
    limits: { maxLayerBytes: 1 << 30, maxEntries: 100_000, maxCompressionRatio: 1000 },
    registry: { registries: {}, connectTimeoutMs: 5000, idleTimeoutMs: 10_000, retries: 2 },
  });
  await images.init();
  image = await buildImage({ fixtureLayers: true });
  await registry.push(`snap/app-${suffix}`, image, 'v1');
});

afterAll(async () => {
  for (const id of containers) await images?.removeContainerRootfs(id).catch(() => undefined);
  db?.close();
  if (root) await rm(root, { recursive: true, force: true });
  await registry?.stop();
});

describe('container root filesystems', () => {
  it('mounts the image layers with an upper dir of its own and measures what it wrote', async () => {
    const record = await images.pull(`${registry.host}/snap/app-${suffix}:v1`);
    expect(images.resolve(`${registry.host}/snap/app-${suffix}:v1`)?.config.config?.Cmd).toEqual(['/bin/sh']);
    const id = `c-${suffix}`;
    containers.push(id);
    const { rootfs } = await images.prepareContainerRootfs(id, record.id);
    expect(rootfs).toBe(join(root, 'container-roots', id, 'rootfs'));
    expect(mounted(rootfs)).toBe(true);
    expect(readFileSync(join(rootfs, FIXTURE.hello.path), 'utf8')).toBe(FIXTURE.hello.content);
    expect(existsSync(join(rootfs, FIXTURE.deleted.path))).toBe(false);
    const empty = await images.containerUsage(id);
    writeFileSync(join(rootfs, 'written'), Buffer.alloc(64 * 1024, 1));
    const used = await images.containerUsage(id);
    expect(used.inodes).toBe(empty.inodes + 1);
    expect(used.bytes).toBeGreaterThanOrEqual(empty.bytes + 64 * 1024);
    // The layers are untouched by the container's write.
    for (const chain of record.chainIds) expect(existsSync(join(images.snapshots.layerFs(chain), 'written'))).toBe(false);
    await expect(images.prepareContainerRootfs(id, record.id)).rejects.toThrow(/already has a root filesystem/);
  });

  it('keeps a removed image\'s layers while a container uses them, then collects them', async () => {
    const record = images.resolve(`${registry.host}/snap/app-${suffix}:v1`);
    expect(record).not.toBeNull();
    const id = `c-${suffix}`;
    expect(await images.remove(record!.id)).toBe(true);
    expect(images.resolve(record!.id)).toBeNull();
    for (const chain of record!.chainIds) expect(existsSync(images.snapshots.layerFs(chain))).toBe(true);
    expect(readFileSync(join(root, 'container-roots', id, 'rootfs', FIXTURE.hello.path), 'utf8')).toBe(FIXTURE.hello.content);
    await images.removeContainerRootfs(id);
    await images.removeContainerRootfs(id); // idempotent
    expect(mounted(join(root, 'container-roots', id, 'rootfs'))).toBe(false);
    expect(existsSync(join(root, 'container-roots', id))).toBe(false);
    // Layer dirs are renamed away at once and deleted in the background.
    expect(readdirSync(join(root, 'snapshots')).filter((n) => !n.startsWith('tmp-gc-'))).toEqual([]);
    await images.snapshots.remover.drain();
    expect(readdirSync(join(root, 'snapshots'))).toEqual([]);
    expect(readdirSync(join(root, 'content', 'blobs', 'sha256'))).toEqual([]);
  });

  it('refuses an unknown image and a bad container id', async () => {
    await expect(images.prepareContainerRootfs(`c2-${suffix}`, `sha256:${'0'.repeat(64)}`)).rejects.toThrow(/not found/);
    await expect(images.prepareContainerRootfs('../evil', `sha256:${'0'.repeat(64)}`)).rejects.toThrow(/not valid/);
  });
});
