// The images of bench/compare, built from Debian's busybox-static by the test image builder and
// pushed to the registry fixture: the containers' image, the pause image containerd's CRI needs
// for sandboxes, a ~1 MB image to pull, and a generated ~300 MB one (as bench/pull does).
import { randomBytes } from 'node:crypto';
import { buildBaseLayer, buildImage, busyboxBaseEntries, type LayerEntry } from '../../test/fixtures/image-builder.js';
import { generateLargeImage } from '../large-image.js';
import type { Registry } from '../../test/fixtures/registry.js';

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
    const large = await generateLargeImage();
    await registry.push('bench/large', large, 'v1');
    images.large = ref('bench/large');
    images.largeBytes = large.layers.reduce((s, l) => s + l.size, 0);
  }
  return images;
}
