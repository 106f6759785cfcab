// bench/pull: pulls a generated image of 5 layers (~300 MB: incompressible, compressible and
// many small files) from the local registry fixture and prints wall time and MB/s beside the
// floor measured in the same run (the same blobs fetched in parallel and unpacked with
// `tar -xzf`) and containerd (`ctr images pull`) when it is installed.
//   bench/run.sh pull [--runs N]
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { execa } from 'execa';
import { startKeelson } from '../test/fixtures/daemon.js';
import type { BuiltImage } from '../test/fixtures/image-builder.js';
import { generateLargeImage } from './large-image.js';
import { startRegistry, type Registry } from '../test/fixtures/registry.js';

const MB = 1024 * 1024;
const runs = Number(process.argv[process.argv.indexOf('--runs') + 1] || 2) || 2;

function seconds(start: bigint): number {
  return Number(process.hrtime.bigint() - start) / 1e9;
}

async function floor(registry: Registry, repo: string, image: BuiltImage, dir: string): Promise<number> {
  const start = process.hrtime.bigint();
  await Promise.all(image.layers.map(async (layer, i) => {
    const target = join(dir, `l${i}`);
    await mkdir(target, { recursive: true });
    const res = await fetch(`${registry.url}/v2/${repo}/blobs/${layer.digest}`);
    if (!res.ok || !res.body) throw new Error(`floor: HTTP ${res.status}`);
    const tar = spawn('tar', ['-xzf', '-', '-C', target], { stdio: ['pipe', 'ignore', 'inherit'] });
    const done = new Promise<void>((resolve, reject) => tar.once('exit', (c) => (c === 0 ? resolve() : reject(new Error(`tar exit ${c}`)))));
    await pipeline(Readable.fromWeb(res.body as import('node:stream/web').ReadableStream), tar.stdin);
    await done;
  }));
  return seconds(start);
}

async function keelson(ref: string): Promise<number[]> {
  const daemon = await startKeelson({ configToml: '' });
  try {
    const times: number[] = [];
    for (let r = 0; r < runs; r++) {
      const start = process.hrtime.bigint();
      const res = await daemon.client.image.call('PullImage', { image: { image: ref } }, { timeoutMs: 600_000 });
      times.push(seconds(start));
      await daemon.client.image.call('RemoveImage', { image: { image: res.image_ref ?? '' } });
    }
    return times;
  } finally {
    await daemon.destroy();
  }
}

async function containerd(ref: string): Promise<number[] | null> {
  if (!existsSync('/usr/bin/containerd') || !existsSync('/usr/bin/ctr')) return null;
  const base = await mkdtemp(join(tmpdir(), 'bench-containerd-'));
  const sock = join(base, 'containerd.sock');
  const config = join(base, 'config.toml');
  await writeFile(config, `version = 2\nroot = "${base}/root"\nstate = "${base}/state"\n[grpc]\naddress = "${sock}"\n[plugins."io.containerd.grpc.v1.cri"]\ndisable_cri = true\n`);
  const child = spawn('/usr/bin/containerd', ['--config', config], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr.on('data', (d: Buffer) => (log = (log + d.toString()).slice(-4000)));
  try {
    for (let i = 0; i < 100 && !existsSync(sock); i++) await new Promise((r) => setTimeout(r, 100));
    if (!existsSync(sock)) throw new Error(`containerd did not start:\n${log}`);
    const times: number[] = [];
    for (let r = 0; r < runs; r++) {
      const start = process.hrtime.bigint();
      await execa('/usr/bin/ctr', ['-a', sock, '-n', 'bench', 'images', 'pull', '--plain-http', ref]);
      times.push(seconds(start));
      await execa('/usr/bin/ctr', ['-a', sock, '-n', 'bench', 'images', 'rm', '--sync', ref]);
      await execa('/usr/bin/ctr', ['-a', sock, '-n', 'bench', 'content', 'prune', 'references']).catch(() => undefined);
    }
    return times;
  } finally {
    if (child.pid !== undefined && child.exitCode === null) process.kill(child.pid, 'SIGTERM');
    await new Promise((r) => setTimeout(r, 500));
    if (child.pid !== undefined && child.exitCode === null) process.kill(child.pid, 'SIGKILL');
    await rm(base, { recursive: true, force: true }).catch(() => undefined);
  }
}

async function main(): Promise<void> {
  console.log('generating the image ...');
  const image = await generateLargeImage();
  const compressed = image.layers.reduce((s, l) => s + l.size, 0);
  const uncompressed = image.layers.reduce((s, l) => s + l.tar.length, 0);
  const registry = await startRegistry();
  const tmp = await mkdtemp(join(tmpdir(), 'bench-floor-'));
  try {
    const repo = 'bench/pull';
    await registry.push(repo, image, 'v1');
    const ref = `${registry.host}/${repo}:v1`;
    console.log(`image: ${image.layers.length} layers, ${(compressed / MB).toFixed(1)} MB compressed, ${(uncompressed / MB).toFixed(1)} MB uncompressed`);
    const floors: number[] = [];
    for (let r = 0; r < runs; r++) {
      const dir = join(tmp, `run${r}`);
      floors.push(await floor(registry, repo, image, dir));
      console.log(`floor run ${r}: ${floors[r]?.toFixed(2)} s`);
      await rm(dir, { recursive: true, force: true });
    }
    const k = await keelson(ref);
    const c = await containerd(ref);
    const best = (xs: number[]): number => Math.min(...xs);
    const floorBest = best(floors);
    const line = (name: string, xs: number[]): string =>
      `${name.padEnd(22)} best ${best(xs).toFixed(2)} s  (${(compressed / MB / best(xs)).toFixed(0)} MB/s)  runs ${xs.map((x) => x.toFixed(2)).join(', ')}  x${(best(xs) / floorBest).toFixed(2)} of floor`;
    console.log(line('floor (fetch+tar -xzf)', floors));
    console.log(line('keelson PullImage', k));
    console.log(c ? line('containerd ctr pull', c) : 'containerd: not installed, skipped');
  } finally {
    await registry.stop();
    await rm(tmp, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
