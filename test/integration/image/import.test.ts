// keelson image import: an OCI layout (directory and tar) and a docker-archive, streamed by
// the CLI to the daemon's import service, then visible through the CRI ImageService.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, startKeelson, type KeelsonDaemon } from '../../fixtures/daemon.js';
import { buildImage, buildIndex, buildLayer, dockerArchive, hostPlatform, imageForPlatform, tarEntries, writeOciLayout } from '../../fixtures/image-builder.js';
import { listImageStore } from '../../fixtures/tree.js';

let daemon: KeelsonDaemon;
let dir: string;
const suffix = randomBytes(3).toString('hex');

beforeAll(async () => {
  daemon = await startKeelson();
  dir = await mkdtemp(join(tmpdir(), 'keelson-import-'));
});

afterAll(async () => {
  await daemon?.destroy();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('keelson image import', () => {
  it('imports an OCI layout directory holding an index, naming bare tags with --name', async () => {
    const index = await buildIndex();
    const layout = join(dir, 'layout');
    await writeOciLayout(layout, index, 'v1');
    const r = await runCli(['image', 'import', layout, '--name', `example.test/imported-${suffix}`, '--socket', daemon.socket]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const mine = imageForPlatform(index, hostPlatform());
    expect(r.stdout).toContain(`Imported ${mine.config.digest} (example.test/imported-${suffix}:v1)`);
    const st = await daemon.client.image.call('ImageStatus', { image: { image: `example.test/imported-${suffix}:v1` } });
    expect(st.image?.id).toBe(mine.config.digest);
  });

  it('imports an OCI layout tar whose ref name is a full reference', async () => {
    const image = await buildImage({ base: false, layers: [[{ type: 'file', path: 'oci-tar', content: suffix }]] });
    const layout = join(dir, 'layout-tar');
    await writeOciLayout(layout, image, `example.test/tarred-${suffix}:t1`);
    await execa('tar', ['-C', layout, '-cf', join(dir, 'layout.tar'), '.']);
    const r = await runCli(['image', 'import', join(dir, 'layout.tar'), '--socket', daemon.socket]);
    expect(r.code).toBe(0);
    const st = await daemon.client.image.call('ImageStatus', { image: { image: `example.test/tarred-${suffix}:t1` } });
    expect(st.image?.id).toBe(image.config.digest);
  });

  it('imports a docker-archive (docker save)', async () => {
    const image = await buildImage({ format: 'docker', layers: [[{ type: 'file', path: 'docker-archive', content: suffix }]] });
    await writeFile(join(dir, 'saved.tar'), await dockerArchive(image, [`saved-${suffix}:v2`]));
    const r = await runCli(['image', 'import', join(dir, 'saved.tar'), '--socket', daemon.socket]);
    expect(r.code).toBe(0);
    const st = await daemon.client.image.call('ImageStatus', { image: { image: `docker.io/library/saved-${suffix}:v2` } });
    expect(st.image?.id).toBe(image.config.digest);
  });

  it('refuses a hostile or broken archive and leaves nothing behind', async () => {
    const before = await listImageStore(daemon.root);
    await writeFile(join(dir, 'evil.tar'), await tarEntries([{ type: 'file', path: '../../escape', content: 'x' }]));
    const evil = await runCli(['image', 'import', join(dir, 'evil.tar'), '--socket', daemon.socket]);
    expect(evil.code).toBe(1);
    expect(evil.stderr).toContain('refusing tar entry "../../escape"');
    // A layout whose blob was altered: the digest check refuses it.
    const image = await buildImage({ base: false, layers: [await buildLayer([{ type: 'file', path: 'a', content: 'original' }])] });
    const layout = join(dir, 'tampered');
    await writeOciLayout(layout, image, `example.test/tampered-${suffix}:x`);
    const layer = image.layers[0]!;
    const altered = Buffer.from(layer.data);
    altered[altered.length - 5] = (altered[altered.length - 5] as number) ^ 0xff;
    await writeFile(join(layout, 'blobs', 'sha256', layer.digest.slice(7)), altered);
    const bad = await runCli(['image', 'import', layout, '--socket', daemon.socket]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/digest mismatch/);
    expect(await listImageStore(daemon.root)).toEqual(before);
  });
});
