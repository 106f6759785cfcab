// bench/rmi: RemoveImage of an image of 100k small files: how long the call takes and how much
// the daemon's RSS grows while it runs (sampled every 10 ms), beside the floor of deleting the
// same tree with `rm -rf` by hand, measured in the same run.
//   bench/run.sh rmi [files-in-thousands]
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { startKeelson } from '../test/fixtures/daemon.js';
import { buildImage, buildLayer, type LayerEntry } from '../test/fixtures/image-builder.js';
import { startRegistry } from '../test/fixtures/registry.js';

const thousands = Number(process.argv[2] ?? 100) || 100;

function rssKiB(pid: number): number {
  return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
}

const entries: LayerEntry[] = [];
for (let d = 0; d < thousands * 10; d++) {
  entries.push({ type: 'dir', path: `d${d}/` });
  for (let f = 0; f < 100; f++) entries.push({ type: 'file', path: `d${d}/f${f}`, content: 'x' });
}
const registry = await startRegistry();
const daemon = await startKeelson({ configToml: '[image]\nmax_layer_entries = 10000000\n' });
try {
  const image = await buildImage({ base: false, layers: [await buildLayer(entries)] });
  const repo = `bench/rmi-${randomBytes(3).toString('hex')}`;
  await registry.push(repo, image, 'v1');
  const ref = `${registry.host}/${repo}:v1`;
  await daemon.client.image.call('PullImage', { image: { image: ref } });
  const layerDir = join(daemon.root, 'snapshots', image.layers[0]!.diffId.slice(7));
  // The floor: the same tree copied and removed by rm -rf.
  const scratch = await mkdtemp(join(tmpdir(), 'keelson-bench-rmi-'));
  await cp(layerDir, join(scratch, 'copy'), { recursive: true });
  let t = performance.now();
  await execa('rm', ['-rf', join(scratch, 'copy')]);
  const floorMs = performance.now() - t;
  await rm(scratch, { recursive: true, force: true });

  const pid = daemon.process.pid as number;
  const before = rssKiB(pid);
  let peak = before;
  const sampler = setInterval(() => { peak = Math.max(peak, rssKiB(pid)); }, 10);
  t = performance.now();
  await daemon.client.image.call('RemoveImage', { image: { image: ref } });
  const callMs = performance.now() - t;
  // Until the background removal is done, keep sampling.
  for (let i = 0; i < 600; i++) {
    const left = (await execa('sh', ['-c', `ls ${join(daemon.root, 'snapshots')} | grep -c tmp-gc || true`])).stdout.trim();
    if (left === '0') break;
    await new Promise((r) => setTimeout(r, 50));
  }
  const totalMs = performance.now() - t;
  clearInterval(sampler);
  console.log(`files: ${thousands}k`);
  console.log(`RemoveImage answered in ${callMs.toFixed(0)} ms; tree gone after ${totalMs.toFixed(0)} ms; rm -rf by hand ${floorMs.toFixed(0)} ms`);
  console.log(`daemon RSS ${(before / 1024).toFixed(1)} MiB before, peak ${(peak / 1024).toFixed(1)} MiB during (+${((peak - before) / 1024).toFixed(1)} MiB)`);
} finally {
  await daemon.destroy();
  await registry.stop();
}
