// keelson pull / images / rmi against a daemon and the registry fixture.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, startKeelson, type KeelsonDaemon } from '../../fixtures/daemon.js';
import { buildImage, type BuiltImage } from '../../fixtures/image-builder.js';
import { startRegistry, type Registry } from '../../fixtures/registry.js';

let registry: Registry;
let daemon: KeelsonDaemon;
let image: BuiltImage;
const suffix = randomBytes(3).toString('hex');

beforeAll(async () => {
  registry = await startRegistry();
  daemon = await startKeelson();
  image = await buildImage({ layers: [[{ type: 'file', path: 'cli', content: suffix }]] });
  await registry.push(`cli/app-${suffix}`, image, 'v1');
});

afterAll(async () => {
  await daemon?.destroy();
  await registry?.stop();
});

describe('keelson image commands', () => {
  const ref = (): string => `${registry.host}/cli/app-${suffix}:v1`;

  it('pull prints each layer (read from the progress side channel) and the image id', async () => {
    const r = await runCli(['pull', ref(), '--socket', daemon.socket]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    for (const layer of image.layers) {
      expect(r.stdout).toContain(`${layer.digest.slice(7, 19)}: done`);
    }
    expect(r.stdout).toContain(`Image is up to date for ${image.config.digest}`);
  });

  it('images lists the image with its tag and short id', async () => {
    const r = await runCli(['images', '--socket', daemon.socket]);
    expect(r.code).toBe(0);
    const line = r.stdout.split('\n').find((l) => l.startsWith(`${registry.host}/cli/app-${suffix}`));
    expect(line).toMatch(new RegExp(`\\s+v1\\s+[0-9a-f]{12}\\s+${image.config.digest.slice(7, 19)}\\s+\\d`));
    const q = await runCli(['images', '-q', ref(), '--socket', daemon.socket]);
    expect(q.stdout.trim()).toBe(image.config.digest);
  });

  it('rmi removes by name and fails clearly on a missing image', async () => {
    const r = await runCli(['rmi', ref(), '--socket', daemon.socket]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`Deleted: ${image.config.digest}`);
    const again = await runCli(['rmi', ref(), '--socket', daemon.socket]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain(`no such image: ${ref()}`);
  });
});
