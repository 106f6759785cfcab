// keelson pull / images / rmi against a daemon and the registry fixture.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { symlinkSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI_PATH, runCli, startKeelson, type KeelsonDaemon } from '../../fixtures/daemon.js';
import { buildImage, type BuiltImage } from '../../fixtures/image-builder.js';
import { startRegistry, type Registry } from '../../fixtures/registry.js';

let registry: Registry;
let daemon: KeelsonDaemon;
let image: BuiltImage;
let linkDir: string;
const suffix = randomBytes(3).toString('hex');

beforeAll(async () => {
  registry = await startRegistry();
  daemon = await startKeelson();
  image = await buildImage({ layers: [[{ type: 'file', path: 'cli', content: suffix }]] });
  await registry.push(`cli/app-${suffix}`, image, 'v1');
  linkDir = await mkdtemp(join(tmpdir(), 'keelson-it-link-'));
  symlinkSync(daemon.socket, join(linkDir, 'keelson.sock'));
});

afterAll(async () => {
  if (linkDir) await rm(linkDir, { recursive: true, force: true });
  await daemon?.destroy();
  await registry?.stop();
});

describe('keelson image commands', () => {
  const ref = (): string => `${registry.host}/cli/app-${suffix}:v1`;

  it('pull prints each layer (read from the progress side channel, found through the daemon), in MiB, and says it downloaded', async () => {
    // The socket reached through a path outside the state dir: progress must not depend on it.
    const elsewhere = join(linkDir, 'keelson.sock');
    const r = await runCli(['pull', ref(), '--socket', elsewhere]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    for (const layer of image.layers) {
      expect(r.stdout).toMatch(new RegExp(`${layer.digest.slice(7, 19)}: done \\(\\d+\\.\\dMiB\\)`));
    }
    expect(r.stdout).toContain(`Downloaded newer image for ${ref()}\n${image.config.digest}`);
  });

  it('pulling again fetches nothing, says the image is up to date, and shows no speed for present layers', async () => {
    const r = await runCli(['pull', ref(), '--socket', daemon.socket]);
    expect(r.code).toBe(0);
    for (const layer of image.layers) expect(r.stdout).toContain(`${layer.digest.slice(7, 19)}: exists`);
    expect(r.stdout).toContain(`Image is up to date for ${ref()}`);
    expect(r.stdout).not.toContain('Downloaded newer image');
    // On a terminal (script(1) gives it one): bars with MiB and "-" instead of a speed.
    const tty = execFileSync('script', ['-qec', `stty cols 200; ${process.execPath} ${CLI_PATH} pull ${ref()} --socket ${daemon.socket}`, '/dev/null'], { encoding: 'utf8', timeout: 60_000 });
    expect(tty).toContain(`Image is up to date for ${ref()}`);
    for (const layer of image.layers) {
      const bar = tty.split(/[\r\n]/).find((l) => l.includes(layer.digest.slice(7, 19)));
      expect(bar).toMatch(/ \d+\.\dMiB\/\d+\.\dMiB \| - \| exists/);
    }
    expect(tty).not.toMatch(/[kMG]B\b|\/s \| exists/);
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
