// The images of bench/compare, built from Debian's busybox-static by the test image builder and
// pushed to the registry fixture: the containers' image, the pause image containerd's CRI needs
// for sandboxes, a ~1 MB image to pull, and a generated ~300 MB one (as bench/pull does).
import { randomBytes } from 'node:crypto';
import { buildBaseLayer, buildImage, buildLayer, busyboxBaseEntries, type LayerEntry } from '../../test/fixtures/image-builder.js';
import type { Registry } from '../../test/fixtures/registry.js';

const MB = 1024 * 1024;

export interface BenchImages {
  /** What the containers run (busybox). */
  run: string;
  /** containerd's sandbox_image: busybox whose entrypoint sleeps forever. */
  pause: string;
  /** ~1 MB compressed, sharing no layer with the others, so each pull downloads it all. */
  small: string;
  /** ~300 MB in 5 layers, when asked for. */
  large?: string;
  smallBytes: number;
  largeBytes?: number;
}

function randomFiles(prefix: string, count: number, size: number): LayerEntry[] {
  return [{ type: 'dir', path: `${prefix}/` }, ...Array.from({ length: count }, (_, i): LayerEntry => ({ type: 'file', path: `${prefix}/f${i}`, content: randomBytes(size) }))];
}

// Compressible text from a random vocabulary, like logs or sources.
function textFiles(prefix: string, count: number, size: number): LayerEntry[] {
  const words = Array.from({ length: 2048 }, () => randomBytes(2 + (randomBytes(1)[0] as number) % 5).toString('hex'));
  const file = (): Buffer => {
    const parts: string[] = [];
    for (let n = 0; n < size; ) {
      const w = words[Math.floor(Math.random() * words.length)] as string;
      parts.push(w);
      n += w.length + 1;
    }
    return Buffer.from(parts.join(' ').slice(0, size));
  };
  return [{ type: 'dir', path: `${prefix}/` }, ...Array.from({ length: count }, (_, i): LayerEntry => ({ type: 'file', path: `${prefix}/t${i}.txt`, content: file() }))];
}

function smallFiles(prefix: string, dirs: number, perDir: number, size: number): LayerEntry[] {
  const out: LayerEntry[] = [{ type: 'dir', path: `${prefix}/` }];
  for (let d = 0; d < dirs; d++) {
    out.push({ type: 'dir', path: `${prefix}/d${d}/` });
    for (let f = 0; f < perDir; f++) out.push({ type: 'file', path: `${prefix}/d${d}/s${f}`, content: randomBytes(size / 2).toString('hex') });
  }
  return out;
}

export async function pushBenchImages(registry: Registry, withLarge: boolean): Promise<BenchImages> {
  const ref = (repo: string): string => `${registry.host}/${repo}:v1`;
  const baseLayer = await buildBaseLayer();
  await registry.push('bench/busybox', await buildImage({ baseLayer }), 'v1');
  // Busybox sleep as pid 1 ignores SIGTERM; containerd stops sandboxes with SIGKILL.
  await registry.push('bench/pause', await buildImage({ baseLayer, config: { Entrypoint: ['/bin/sleep', '2147483647'], Cmd: [] } }), 'v1');
  const marker: LayerEntry = { type: 'file', path: 'etc/bench-marker', content: randomBytes(16).toString('hex') };
  const small = await buildImage({ base: false, layers: [[...(await busyboxBaseEntries()), marker]] });
  await registry.push('bench/small', small, 'v1');
  const images: BenchImages = { run: ref('bench/busybox'), pause: ref('bench/pause'), small: ref('bench/small'), smallBytes: small.layers.reduce((s, l) => s + l.size, 0) };
  if (withLarge) {
    const large = await buildImage({
      base: false,
      layers: [
        await buildLayer(randomFiles('random-a', 10, 10 * MB)),
        await buildLayer(textFiles('text', 40, 2 * MB)),
        await buildLayer(smallFiles('small', 200, 100, 2048)),
        await buildLayer([...randomFiles('random-b', 4, 10 * MB), ...textFiles('mixed', 20, 2 * MB)]),
        await buildLayer(randomFiles('random-c', 3, 10 * MB)),
      ],
    });
    await registry.push('bench/large', large, 'v1');
    images.large = ref('bench/large');
    images.largeBytes = large.layers.reduce((s, l) => s + l.size, 0);
  }
  return images;
}
